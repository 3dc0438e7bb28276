# shellcheck shell=bash
# The server-side hook of every repository of the emulated GitLab (pre-receive and post-receive).
#
# Like GitLab's own hooks it decides nothing itself: pre-receive asks the internal API whether the ref changes
# read from stdin are allowed (POST /api/v4/internal/allowed), post-receive reports them
# (POST /api/v4/internal/post_receive). The emulation writes this file, behind a shebang naming bash with -p
# (no BASH_ENV, no functions from the environment), into each bare repository and runs git with the pusher's
# identity (GL_ID, GL_REPOSITORY, GL_PROTOCOL), the internal API URL and the per-process shared secret in the
# environment (repository_hooks.py).
#
# Why bash: git starts a hook twice on every push, about 40 times per quickstart run. Bash builtins only (the
# /dev/tcp redirection, read, parameter expansion, printf): bash starts in ~1 ms of CPU where the isolated
# Python this hook used to be took ~8 ms. The price is the little JSON handled here by hand: the request's
# strings are escaped as json.dumps does (refnames cannot hold a backslash or a control character, paths
# could), and of the reply only "status" (true), "message" and "messages" (an array of strings) are read, as
# the internal API of the emulation writes them (rest/internal.py).

set -u

# $1 as a JSON string literal, in REPLY.
json_string() {
    local text=${1//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\n'/\\n}
    text=${text//$'\r'/\\r}
    text=${text//$'\t'/\\t}
    REPLY="\"$text\""
}

# The content of a JSON string literal (what is between its quotes) decoded, in REPLY: \" \/ and \uXXXX
# (surrogate pairs too) here, written as UTF-8 whatever the locale, printf's %b the rest (\\ \n \r \t \b \f;
# JSON has no other escapes).
json_decoded() {
    local text=${1//\\\"/\"} decoded="" code
    local escape='^(([^\]|\\[^u])*)\\u([0-9a-fA-F]{4})(.*)$' low='^\\u([dD][c-fC-F][0-9a-fA-F]{2})(.*)$'
    text=${text//\\\//\/}
    while [[ $text =~ $escape ]]; do
        decoded+=${BASH_REMATCH[1]}
        code=$((16#${BASH_REMATCH[3]}))
        text=${BASH_REMATCH[4]}
        if ((code >= 0xD800 && code < 0xDC00)) && [[ $text =~ $low ]]; then
            code=$((0x10000 + ((code - 0xD800) << 10) + (16#${BASH_REMATCH[1]} - 0xDC00)))
            text=${BASH_REMATCH[2]}
        fi
        utf8_escapes "$code"
        decoded+=$REPLY
    done
    printf -v REPLY '%b' "$decoded$text"
}

# Code point $1 as the \xHH escapes of its UTF-8 bytes, for printf's %b, in REPLY.
utf8_escapes() {
    local c=$1
    if ((c < 0x80)); then
        printf -v REPLY '\\x%02x' "$c"
    elif ((c < 0x800)); then
        printf -v REPLY '\\x%02x\\x%02x' $((0xC0 | c >> 6)) $((0x80 | (c & 0x3F)))
    elif ((c < 0x10000)); then
        printf -v REPLY '\\x%02x\\x%02x\\x%02x' $((0xE0 | c >> 12)) $((0x80 | (c >> 6 & 0x3F))) $((0x80 | (c & 0x3F)))
    else
        printf -v REPLY '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | c >> 18)) $((0x80 | (c >> 12 & 0x3F))) \
            $((0x80 | (c >> 6 & 0x3F))) $((0x80 | (c & 0x3F)))
    fi
}

# The length of $1 in bytes (Content-Length), in REPLY.
byte_length() {
    local LC_ALL=C
    REPLY=${#1}
}

IFS= read -r -d '' changes || true
if [[ -z ${GITLAB_INTERNAL_API_URL:-} || -z ${GITLAB_SHARED_SECRET:-} || -z ${GL_ID:-} ||
    -z ${GL_REPOSITORY:-} || -z ${GL_PROTOCOL:-} ]]; then
    echo "GitLab: pushes are only accepted through GitLab (HTTP or SSH)." >&2
    exit 1
fi

# Where git keeps a push's objects until pre-receive accepts it: the API needs them to detect force pushes.
object_env=""
for name in GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH; do
    if [[ -n ${!name+set} ]]; then
        json_string "${!name}"
        object_env+="${object_env:+, }\"$name\": $REPLY"
    fi
done
body="{"
json_string "$GL_ID" && body+="\"gl_id\": $REPLY, "
json_string "$GL_REPOSITORY" && body+="\"gl_repository\": $REPLY, "
json_string "$GL_PROTOCOL" && body+="\"protocol\": $REPLY, "
json_string "$changes" && body+="\"changes\": $REPLY, "
body+="\"env\": {$object_env}}"
byte_length "$body" && length=$REPLY

# One HTTP/1.0 POST to http://<host>:<port>/<path>/<endpoint>; the server closes the connection after its reply.
hook=${0##*/}
[[ $hook == pre-receive ]] && endpoint=allowed || endpoint=post_receive
location=${GITLAB_INTERNAL_API_URL#*://}
netloc=${location%%/*}
path=${location#"$netloc"}
path=${path#/}
unreachable() {
    echo "GitLab: Internal API unreachable" >&2
    exit 1
}
{ exec 3<>"/dev/tcp/${netloc%:*}/${netloc##*:}"; } 2>/dev/null || unreachable
printf 'POST /%s/%s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n' \
    "$path" "$endpoint" "$netloc" "$length" >&3 2>/dev/null || unreachable
printf 'Gitlab-Shared-Secret: %s\r\n\r\n%s' "$GITLAB_SHARED_SECRET" "$body" >&3 2>/dev/null || unreachable
IFS= read -r -d '' -t 60 reply <&3
(($? > 128)) && unreachable # timed out
exec 3<&-
status_line=${reply%%$'\r\n'*}
status=${status_line#* }
status=${status%% *}
[[ $status =~ ^[0-9]+$ ]] || unreachable
content=""
[[ $reply == *$'\r\n\r\n'* ]] && content=${reply#*$'\r\n\r\n'}

# What of the reply is read: "status": true, "message": "...", "messages": ["...", ...].
string='"(([^"\\]|\\.)*)"'
approved='"status":[[:space:]]*true'
message='"message":[[:space:]]*'"$string"
messages='"messages":[[:space:]]*\[(([[:space:]]*'"$string"'[[:space:]]*,?)*)\]'
first_of_list='^[[:space:],]*'"$string"'(.*)$'
if [[ $hook == pre-receive ]] && ! [[ $status == 200 && $content =~ $approved ]]; then
    refusal="API is not accessible"
    if [[ $content =~ $message ]]; then
        json_decoded "${BASH_REMATCH[1]}" && refusal=$REPLY
    fi
    echo "GitLab: $refusal" >&2
    exit 1
fi
if [[ $content =~ $messages ]]; then
    rest=${BASH_REMATCH[1]}
    while [[ $rest =~ $first_of_list ]]; do
        rest=${BASH_REMATCH[3]}
        json_decoded "${BASH_REMATCH[1]}" && echo "$REPLY" >&2
    done
fi
exit 0
