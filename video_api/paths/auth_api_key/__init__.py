"""Operations on /auth/api-key."""
