# Sourced by the shell integration tests: eustress-client processes driven by events, not by sleeps. Each client
# reads its stdin from a FIFO this shell holds open, so a test says a line only once the client is connected, and
# ends the client (closes its input) only once it heard what it should.
#   chat_start NAME PROGRAM ARGS...   starts the client; its stdout goes to NAME.out, its stderr to NAME.err
#   chat_wait_connected NAME...       until each printed "connected as client"
#   chat_say NAME LINE...             types the lines
#   chat_wait_heard NAME TEXT         until NAME.out holds TEXT (fails the test after CHAT_TIMEOUT seconds)
#   chat_end NAME...                  closes the input: the client flushes, says goodbye, exits; checks it exited 0
# The caller defines fail MESSAGE [FILES...].
declare -A chat_input chat_pid
CHAT_TIMEOUT=${CHAT_TIMEOUT:-20}

chat_start() {
  local name=$1; shift
  rm -f "$name.in"
  mkfifo "$name.in"
  "$@" < "$name.in" > "$name.out" 2> "$name.err" &
  chat_pid[$name]=$!
  local fd
  exec {fd}> "$name.in"  # returns once the client opened its end
  chat_input[$name]=$fd
}

chat_wait_for() {  # chat_wait_for FILE TEXT WHAT
  local deadline=$((SECONDS + CHAT_TIMEOUT))
  until grep -qF -- "$2" "$1" 2> /dev/null; do
    ((SECONDS < deadline)) || fail "timed out after ${CHAT_TIMEOUT} s waiting for $3" "$1" "${1%.out}.err"
    sleep 0.02
  done
}

chat_wait_connected() {
  local name
  for name in "$@"; do chat_wait_for "$name.out" "connected as client" "$name to connect"; done
}

chat_say() {
  local name=$1; shift
  printf '%s\n' "$@" >&"${chat_input[$name]}"
}

chat_wait_heard() {
  chat_wait_for "$1.out" "$2" "$1 to hear \"${2:0:40}\""
}

chat_end() {
  local name status
  for name in "$@"; do exec {chat_input[$name]}>&-; done
  for name in "$@"; do
    status=0
    wait "${chat_pid[$name]}" || status=$?
    [[ $status -eq 0 ]] || fail "$name exited with status $status" "$name.out" "$name.err"
  done
}
