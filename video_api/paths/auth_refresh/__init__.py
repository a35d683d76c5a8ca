"""Operations on /auth/refresh."""
