"""The password policy, and the one-time passwords an administrator hands out."""

from __future__ import annotations

import secrets

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn's estimate, 0 (a common password, a keyboard walk) to 4: 3 needs about 10^8 guesses.
MIN_SCORE = 3


def password_problem(password: str, username: str, name: str = "") -> str | None:
    """Why `password` may not be used by this officer (in Chinese), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 个字符。"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 个字符。"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名。"
    if zxcvbn(password, user_inputs=[username, name])["score"] < MIN_SCORE:
        return "密码太容易被猜到（常见密码、键盘顺序、重复或与姓名相近），请换一个更长、更随机的密码。"
    return None


def one_time_password() -> str:
    """A random password to be changed at the next login: 16 characters, about 96 bits."""
    return secrets.token_urlsafe(12)
