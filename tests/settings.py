"""Settings for the test suite and the processes it starts: Herald's, with a fast password hasher.

Hundreds of signups per run would spend minutes in PBKDF2; what the tests prove
does not depend on the hash's cost. The product and the benchmark keep Django's
default hasher.
"""

from config.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# WhiteNoise warns on every request when STATIC_ROOT is missing (make run collects static files).
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405
