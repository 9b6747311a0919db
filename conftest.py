"""Every test folder of the checkout (core, evaluation, integrations) shares the offline fixtures of the core."""

pytest_plugins = ["contextsieve.pytest_plugin"]
