from flask import Blueprint

bp = Blueprint("gates", __name__)
