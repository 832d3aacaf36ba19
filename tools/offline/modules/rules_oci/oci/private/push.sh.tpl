#!/usr/bin/env bash
# rules_oci 2.2.6's push.sh.tpl contract: the files are found by their
# short paths, relative to the working directory, which `bazel run` sets to
# the runfiles root; the flags are parsed the same way and the last line on
# standard output is REPOSITORY@DIGEST.
set -o pipefail -o errexit -o nounset

readonly CRANE="{{crane_path}}"
readonly IMAGE_DIR="{{image_dir}}"
readonly TAGS_FILE="{{tags}}"
readonly FIXED_ARGS=({{fixed_args}})

VERBOSE=""
REPOSITORY=""

# $@ becomes FIXED_ARGS + $@, word-split as upstream does.
ALL_ARGS=(${FIXED_ARGS[@]+"${FIXED_ARGS[@]}"} $@)
if [[ ${#ALL_ARGS[@]} -gt 0 ]]; then
  set -- ${ALL_ARGS[@]}
fi

TAGS=()
ARGS=()

while (( $# > 0 )); do
  case $1 in
    (-v|--verbose)
      VERBOSE="--verbose"
      shift;;
    (-t|--tag)
      TAGS+=( "$2" )
      shift
      shift;;
    (--tag=*)
      TAGS+=( "${1#--tag=}" )
      shift;;
    (-r|--repository)
      REPOSITORY="$2"
      shift
      shift;;
    (--repository=*)
      REPOSITORY="${1#--repository=}"
      shift;;
    (*)
      ARGS+=( "$1" )
      shift;;
  esac
done

DIGEST=$("${CRANE}" index-digest "${IMAGE_DIR}")

REFS=$(mktemp)
trap 'rm -f "${REFS}"' EXIT
"${CRANE}" push ${VERBOSE} "${IMAGE_DIR}" "${REPOSITORY}@${DIGEST}" "${ARGS[@]+"${ARGS[@]}"}" --image-refs "${REFS}"

for tag in "${TAGS[@]+"${TAGS[@]}"}"
do
  "${CRANE}" tag ${VERBOSE} $(cat "${REFS}") "${tag}"
done

if [[ -e "${TAGS_FILE:-}" ]]; then
  cat "${TAGS_FILE}" | xargs -rn1 "${CRANE}" tag ${VERBOSE} $(cat "${REFS}")
fi
