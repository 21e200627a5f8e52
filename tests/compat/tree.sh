#!/bin/sh
# Prints the end state of a directory, one line per entry: path, kind, mode, content hash.
# Used for both Ansible's recorded state and timonel's, so the two are compared alike.
cd "$1" || exit 1
find . -mindepth 1 ! -name '*.retry' | LC_ALL=C sort | while IFS= read -r p; do
  if [ -L "$p" ]; then
    printf '%s link %s\n' "$p" "$(readlink "$p")"
  elif [ -d "$p" ]; then
    printf '%s dir %s\n' "$p" "$(stat -c %a "$p")"
  else
    printf '%s file %s %s\n' "$p" "$(stat -c %a "$p")" "$(sha1sum < "$p" | cut -c1-12)"
  fi
done
