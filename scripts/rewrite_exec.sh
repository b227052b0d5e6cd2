#!/usr/bin/env bash
# Runs a proxy on a private, rewritten copy of its config. The fixture configs are written the
# way users write them (listening on 8080, upstream 127.0.0.1:11434); `streamcheck exec` fills
# {listen}/{port}/{upstream} into this script's arguments, and the copy gets them. SRC is never
# modified.
#   rewrite_exec.sh SRC COPY [--prepend TEXT] [--replace[-any] FROM TO]... --exec CMD...
# FROM and TO are literal strings (every occurrence is replaced; with --replace FROM must occur,
# with --replace-any it may not); \n and \t in TO and TEXT stand for a newline and a tab. CMD replaces this script (same pid: exec stops it by pid).
set -euo pipefail
src=$1 copy=$2
shift 2
text=$(cat "$src")
while [ $# -gt 0 ] && [ "$1" != "--exec" ]; do
  case $1 in
    --prepend) text="$(printf '%b' "$2")"$'\n'"$text"; shift 2 ;;
    --replace | --replace-any)
      from=$2 to=$(printf '%b' "$3")
      case $text in
        *"$from"*) ;;
        *) [ "$1" = --replace-any ] || { echo "rewrite_exec.sh: '$from' not in $src" >&2; exit 2; } ;;
      esac
      text=${text//"$from"/"$to"}
      shift 3 ;;
    *) echo "rewrite_exec.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "${1:-}" = "--exec" ] && shift
printf '%s\n' "$text" >"$copy"
exec "$@"
