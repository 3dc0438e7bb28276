"""Service containers (GitLab CE, Vault, a registry), one thin testcontainers module each."""
