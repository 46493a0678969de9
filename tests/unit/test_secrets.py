from voltline.services.security.passwords import hash_password, hash_token, new_token, verify_password


def test_passwords_are_salted_and_verified() -> None:
    stored = hash_password("correct horse")
    assert "correct horse" not in stored and stored != hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong", stored)
    assert not verify_password("x", "garbage")


def test_tokens_are_random_and_hashed() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) > 40
    assert hash_token(a) == hash_token(a) != hash_token(b)
