"""Identity: accounts, passwords, sessions, principals and RBAC."""
