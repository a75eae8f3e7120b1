from flask import Blueprint

bp = Blueprint("ticketing", __name__)
