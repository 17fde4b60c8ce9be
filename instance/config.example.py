# Copy to instance/config.py (git-ignored) and adjust. `make run` writes a random SECRET_KEY here on the
# first start. Any setting can also come from the environment as PORTAL_<NAME>.
SECRET_KEY = "replace with the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
# DATABASE_URL = "postgresql+psycopg://portal:secret@127.0.0.1:5432/portal"
# DEFAULT_LOCALE = "zh"
# DEFAULT_TIMEZONE = "Asia/Shanghai"
