#!/usr/bin/env bash
# Command-line option parsing for recipe scripts, with the semantics of Kaldi's parse_options.sh,
# and the checks of option values that the recipes run once their defaults are final.
#
# Source it AFTER declaring the defaults:   . utils/parse_options.sh
# Every shell variable declared before that line becomes an option `--name value`; dashes in the
# option name map to underscores (`--num-nodes 2` sets num_nodes). Rules:
#   * an option whose variable was never declared is an error;
#   * `--name=value` is rejected (write `--name value`);
#   * a variable whose declared default is true/false only accepts true/false;
#   * `--config FILE` sources FILE first; options given on the command line still win;
#   * `--help` / `-h` prints $help_message (if set), then, when the caller is a script file, one
#     line per option declared above the line that sources this file: its name, its default and
#     the first line of the comment beside it (`name=default  # description`); then exits 0.
# Parsing stops at the first argument that does not start with `--`; positional arguments stay
# in "$@" for the caller (`check_no_args "$@"` refuses them).
#
# Checks, to run after the defaults are final (presets applied) and before any work. Each one
# prints a single line naming the option on stderr and exits 1 when the value is bad:
#   check_int NAME [MIN [MAX]]     an integer in [MIN, MAX] (rewritten in plain decimal: 04 -> 4)
#   check_number NAME [MIN [MAX]]  a decimal number in [MIN, MAX]
#   check_positive NAME            a decimal number > 0
#   check_bool NAME                true or false
#   check_choice NAME VALUE...     one of the VALUEs
#   check_list NAME VALUE...       a comma-separated list of the VALUEs
#   check_ints NAME MIN            comma-separated integers >= MIN
#   check_match NAME REGEX WHAT    matches the extended REGEX (WHAT describes it in the error)
#   check_command NAME             a command found in PATH (or an executable path)
#   check_no_args "$@"             no positional argument is left
#   option_error MESSAGE           prints "$0: MESSAGE" on stderr and exits 1

option_error() {
  echo "$0: $*" >&2
  exit 1
}

# _po_bad NAME WHAT: the one-line error of a bad value.
_po_bad() {
  option_error "--$1 takes $2, got '${!1}'"
}

check_int() {
  local name=$1 min=${2:-} max=${3:-} what="an integer" value=${!1} number
  if [[ -n $min && -n $max ]]; then
    what="an integer in $min..$max"
  elif [[ -n $min ]]; then
    what="an integer >= $min"
  fi
  [[ $value =~ ^[-+]?[0-9]{1,18}$ ]] || _po_bad "$name" "$what"
  # 10#: leading zeros are decimal, not octal.
  if [[ $value == -* ]]; then number=$(( -10#${value#-} )); else number=$(( 10#${value#+} )); fi
  if [[ -n $min && $number -lt $min ]] || [[ -n $max && $number -gt $max ]]; then
    _po_bad "$name" "$what"
  fi
  printf -v "$name" '%d' "$number"
}

# _po_decimal VALUE: whether VALUE is a plain decimal number (no inf, nan or hex).
_po_decimal() {
  [[ $1 =~ ^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]]
}

check_number() {
  local name=$1 min=${2:-} max=${3:-} what="a number" value=${!1}
  if [[ -n $min && -n $max ]]; then
    what="a number in $min..$max"
  elif [[ -n $min ]]; then
    what="a number >= $min"
  fi
  _po_decimal "$value" || _po_bad "$name" "$what"
  awk -v v="$value" -v lo="$min" -v hi="$max" \
    'BEGIN { exit !((lo == "" || v + 0 >= lo + 0) && (hi == "" || v + 0 <= hi + 0)) }' \
    || _po_bad "$name" "$what"
}

check_positive() {
  local name=$1 value=${!1}
  _po_decimal "$value" || _po_bad "$name" "a number > 0"
  awk -v v="$value" 'BEGIN { exit !(v + 0 > 0) }' || _po_bad "$name" "a number > 0"
}

check_bool() {
  [[ ${!1} == true || ${!1} == false ]] || _po_bad "$1" "true or false"
}

check_choice() {
  local name=$1 choice
  shift
  for choice in "$@"; do
    [[ ${!name} == "$choice" ]] && return 0
  done
  _po_bad "$name" "one of $(printf '%s | ' "$@" | sed 's/ | $//')"
}

check_list() {
  local name=$1 item choice found
  shift
  local what
  what="a comma-separated list of $(printf '%s, ' "$@" | sed 's/, $//')"
  [[ -n ${!name} && ${!name} != *, && ${!name} != ,* && ${!name} != *,,* ]] \
    || _po_bad "$name" "$what"
  for item in ${!name//,/ }; do
    found=false
    for choice in "$@"; do
      [[ $item == "$choice" ]] && found=true
    done
    [[ $found == true ]] || _po_bad "$name" "$what"
  done
}

check_ints() {
  local name=$1 min=$2 item
  local what="comma-separated integers >= $min"
  [[ ${!name} =~ ^[0-9]{1,18}(,[0-9]{1,18})*$ ]] || _po_bad "$name" "$what"
  for item in ${!name//,/ }; do
    [[ $(( 10#$item )) -ge $min ]] || _po_bad "$name" "$what"
  done
}

check_match() {
  [[ ${!1} =~ $2 ]] || _po_bad "$1" "$3"
}

check_command() {
  command -v -- "${!1}" > /dev/null 2>&1 || _po_bad "$1" "a command (none found in PATH)"
}

check_no_args() {
  [[ $# -eq 0 ]] || option_error "unexpected argument '$1' (options are '--name value', see --help)"
}

# _po_help: $help_message, then a table of the options declared in the calling script.
_po_help() {
  printf "%s\n" "${help_message:-Usage: $0 [--name value ...]}"
  [ -f "$0" ] || return 0
  local line name value comment width=0 dwidth=0 i
  local -a names=() values=() comments=()
  while IFS= read -r line; do
    [[ $line =~ ^(\.|source)[[:space:]].*parse_options\.sh ]] && break
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
    name=${BASH_REMATCH[1]}
    [[ $name == help_message ]] && continue
    value=${!name}
    [[ -z $value || $value == *[[:space:]]* ]] && value="'$value'"
    comment=""
    [[ $line =~ [[:space:]]#[[:space:]]*(.*)$ ]] && comment=${BASH_REMATCH[1]}
    names+=("$name") values+=("$value") comments+=("$comment")
    (( ${#name} > width )) && width=${#name}
    (( ${#value} > dwidth )) && dwidth=${#value}
  done < "$0"
  (( ${#names[@]} )) || return 0
  printf "\nOptions (--name value; a dash may stand for each underscore):\n"
  printf "  %-*s  %-*s  %s\n" $(( width + 2 )) "option" "$dwidth" "default" "description"
  for i in "${!names[@]}"; do
    printf "  --%-*s  %-*s  %s\n" "$width" "${names[i]}" "$dwidth" "${values[i]}" "${comments[i]}"
  done
}

# Pass 0: the declared default of every option given, before any --config file changes it (the
# true/false rule looks at the default, not at an earlier --config or command-line value).
declare -A _po_default=()
for (( _po_i = 1; _po_i <= $#; _po_i++ )); do
  _po_name=${!_po_i}
  [[ $_po_name == --* && $_po_name != *=* ]] || continue
  _po_name=$(echo "${_po_name#--}" | sed 's/-/_/g')
  if [[ $_po_name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && declare -p "$_po_name" > /dev/null 2>&1; then
    [[ -v _po_default[$_po_name] ]] || _po_default[$_po_name]=${!_po_name}
  fi
done

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
      _po_help
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
      _po_old=${_po_default[$_po_name]:-}
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

unset _po_i _po_j _po_config _po_name _po_old _po_default
true  # never make a sourcing script under `set -e` exit because of the last test above
