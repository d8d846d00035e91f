#!/usr/bin/env python3
"""django-oauth-toolkit as a third-party provider for the BFF's compatibility e2e test."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compat_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
