"""Extensions, created unbound here and bound to the app in create_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from backend.api import Api
from backend.db import Database

db = Database()
api = Api()
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address)
