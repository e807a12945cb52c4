#!/bin/sh
# Start Alertmanager 0.25 with the Telegram bot token read from a file.
#
# Alertmanager 0.25 reads the SMTP password from a file itself (smtp_auth_password_file), but
# takes the Telegram bot token only as a literal `bot_token` (`bot_token_file` came in 0.26).
# This wrapper copies alertmanager.yml into a private runtime directory, puts the token from
# $TELEGRAM_BOT_TOKEN_FILE in place of @@TELEGRAM_BOT_TOKEN@@, links the templates next to it,
# and execs Alertmanager on the copy. The token is never in git, in the image or in `ps`.
# A config change needs a restart (not a reload): the copy is made at start.
#
#   TELEGRAM_BOT_TOKEN_FILE   default /run/secrets/telegram_bot_token (a docker/compose secret)
#   ALERTMANAGER_CONFIG       default: alertmanager.yml next to this script
#   ALERTMANAGER_RUNTIME_DIR  default /tmp/alertmanager (a tmpfs in compose keeps it off disk)
#   ALERTMANAGER_BIN          default: `alertmanager`, else Debian's `prometheus-alertmanager`
# Arguments are passed on, e.g.  entrypoint.sh --storage.path=/alertmanager
# Without a token file Alertmanager still starts (webhook and e-mail work; Telegram sends fail
# and are logged), with a warning here.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
config=${ALERTMANAGER_CONFIG:-$here/alertmanager.yml}
token_file=${TELEGRAM_BOT_TOKEN_FILE:-/run/secrets/telegram_bot_token}
runtime=${ALERTMANAGER_RUNTIME_DIR:-/tmp/alertmanager}
bin=${ALERTMANAGER_BIN:-$(command -v alertmanager || command -v prometheus-alertmanager || echo alertmanager)}

umask 077
mkdir -p "$runtime"
ln -sfn "$(cd "$(dirname "$config")" && pwd)/templates" "$runtime/templates"

if [ -r "$token_file" ]; then
  token=$(tr -d ' \t\r\n' < "$token_file")
  case $token in
    '' | *[!A-Za-z0-9:_-]*)
      echo "entrypoint: $token_file does not hold a Telegram bot token (123456:ABC-def_…)" >&2
      exit 1 ;;
  esac
  sed "s|@@TELEGRAM_BOT_TOKEN@@|$token|g" "$config" > "$runtime/alertmanager.yml"
else
  echo "entrypoint: warning: no $token_file; Telegram notifications will fail" >&2
  cp "$config" "$runtime/alertmanager.yml"
fi

exec "$bin" --config.file="$runtime/alertmanager.yml" "$@"
