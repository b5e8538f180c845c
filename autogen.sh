#!/bin/sh
# autogen.sh: makes configure and Makefile.in from configure.ac and
# Makefile.am; run once after a fresh clone (bootstrap does it for you).
set -eu
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
