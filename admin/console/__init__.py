"""The campaign admins' web console at /admin/: server-rendered pages in Chinese (English on
request), signed-in staff only, CSRF tokens on every form, each page declaring its permission.
"""
