#!/usr/bin/env bash
# The system tools some tests drive (run by `make test`): poppler-utils (pdftoppm and
# pdfimages turn the PDF report into pictures) and chromium (the dashboard's browser test).
# Each is installed from the distribution's packages when it is missing and this user can
# install packages (root, or sudo without a password). Otherwise the reason is printed here,
# and the tests that need the tool say so when they are skipped.
set -uo pipefail

declare -A PACKAGE_OF=([pdftoppm]=poppler-utils [pdfimages]=poppler-utils [chromium]=chromium)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_test_tools: missing ${packages}and no apt-get here: the tests that need them are skipped"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "ensure_test_tools: missing ${packages}and no root to install them: the tests that need them are skipped"
    exit 0
fi
echo "ensure_test_tools: installing ${packages}"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # the package list is meant to split
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends $packages >/tmp/ensure_test_tools.log 2>&1; then
    "${as_root[@]}" apt-get update -q >>/tmp/ensure_test_tools.log 2>&1
    "${as_root[@]}" apt-get install -y -q --no-install-recommends $packages >>/tmp/ensure_test_tools.log 2>&1 \
        || echo "ensure_test_tools: could not install ${packages}(see /tmp/ensure_test_tools.log): the tests that need them are skipped"
fi
exit 0
