#!/usr/bin/env bash
# Command-line option parsing for recipe scripts, with the semantics of Kaldi's parse_options.sh.
#
# Source it AFTER declaring the defaults:   . utils/parse_options.sh
# Every shell variable declared before that line becomes an option `--name value`; dashes in the
# option name map to underscores (`--num-nodes 2` sets num_nodes). Rules:
#   * an option whose variable was never declared is an error;
#   * `--name=value` is rejected (write `--name value`);
#   * a variable whose default is true/false only accepts true/false;
#   * `--config FILE` sources FILE first; options given on the command line still win;
#   * `--help` / `-h` prints $help_message (if set) and exits.
# Parsing stops at the first argument that does not start with `--`; positional arguments stay
# in "$@" for the caller.

# Pass 1: source every --config file, so that the command line overrides them in pass 2.
for (( _po_i = 1; _po_i < $#; _po_i++ )); do
  if [ "${!_po_i}" == "--config" ]; then
    _po_j=$((_po_i + 1))
    _po_config=${!_po_j}
    if [ ! -r "$_po_config" ]; then
      echo "$0: cannot read config file '$_po_config' given by --config" >&2
      exit 1
    fi
    # shellcheck disable=SC1090
    . "$_po_config" || exit 1
  fi
done

# Pass 2: the options themselves.
while true; do
  [ -z "${1:-}" ] && break
  case "$1" in
    --help|-h)
      if [ -z "${help_message:-}" ]; then
        echo "$0: no help message available" >&2
      else
        printf "%s\n" "$help_message" >&2
      fi
      exit 0
      ;;
    --*=*)
      echo "$0: options must be written '--name value', not '$1'" >&2
      exit 1
      ;;
    --config)
      shift 2  # already sourced in pass 1
      ;;
    --*)
      _po_name=$(echo "${1#--}" | sed 's/-/_/g')
      # The variable must have been declared (possibly empty) before this file was sourced.
      if ! declare -p "$_po_name" > /dev/null 2>&1 || [[ ! "$_po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        echo "$0: invalid option $1 (no variable '$_po_name' declared)" >&2
        exit 1
      fi
      if [ $# -lt 2 ]; then
        echo "$0: option $1 needs a value" >&2
        exit 1
      fi
      _po_old=${!_po_name}
      if [ "$_po_old" == "true" ] || [ "$_po_old" == "false" ]; then
        if [ "$2" != "true" ] && [ "$2" != "false" ]; then
          echo "$0: option $1 takes true or false, got '$2'" >&2
          exit 1
        fi
      fi
      printf -v "$_po_name" '%s' "$2"
      shift 2
      ;;
    *)
      break
      ;;
  esac
done

unset _po_i _po_j _po_config _po_name _po_old
true  # never make a sourcing script under `set -e` exit because of the last test above
