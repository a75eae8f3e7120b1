from flask import Blueprint

bp = Blueprint("crowd", __name__)
