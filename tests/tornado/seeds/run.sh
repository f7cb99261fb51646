#!/bin/bash
# Runs each seed program under Tornado 6.2 (seeds.py) and prints the answers
# to the requests tests/test_examples.cpp sends: status line, headers
# (without Date and Server) and body, the source of the expected texts in
# tests/test_examples.cpp. Writes out-*.txt here: run it from a scratch copy.
cd "$(dirname "$0")"
P=18800; U=18799
/usr/bin/python3 upstream.py $U & UP=$!
sleep 1
req() { echo "--- $*"; curl -s -i "$@" | grep -av '^Date:\|^Server:' | tr -d '\r'; echo; }
run() {
  name=$1; shift
  /usr/bin/python3 -u seeds.py $name $P "${ARG:-http://127.0.0.1:$U}" > out-$name.txt 2>&1 & PID=$!
  for i in $(seq 50); do grep -q Listening out-$name.txt 2>/dev/null && break; sleep 0.1; done
  echo "===== $name"
  "$@"
  sleep 0.2; kill $PID; wait $PID 2>/dev/null
  echo "-- stdout/stderr:"; grep -v Listening out-$name.txt
}
u() { echo "http://127.0.0.1:$P$1"; }
t_hello() { req $(u /); }
t_hello_post() { req -d '' $(u /); req $(u /); }
t_story() { req $(u /); req $(u /story/42); req $(u /story/x); }
t_form() { req $(u /); req -d 'message=hi+there' $(u /); req -d '' $(u /); }
t_path() { req $(u /); req $(u /sub-city/python/beijing); req $(u /sub-date/python/20161011); }
t_people() { req $(u /); req $(u /people/42); req $(u /people/ann/); req $(u /people/ann/42); req $(u /people/ann/42/); }
t_upload() { req -F 'img=@seeds.py;filename=a.png' $(u /upload); cmp -s seeds.py /tmp/seedcheck-up/itcast && echo SAVED-SAME; }
t_sub() { req -H 'Host: a.com' $(u /); req -H 'Host: www.a.com:8888' $(u /); req -H 'Host: bbs.b.com:8888' $(u /); req $(u /); }
t_named() { req $(u /); req $(u /cpp); req $(u /python); }
t_args() { req -d 'a=1&a=+2+&b=x%27y' "$(u '/?a=q&a=%20r%20')"; req -d 'a=1' "$(u /)"; }
t_json() { req $(u /); req $(u /dumps); req $(u /dict); req $(u /header); }
t_headers() { req $(u /); req -d '' $(u /); }
t_status() { req $(u /err/404); req $(u /err/210); req $(u /err/211); }
t_redirect() { req $(u /); req $(u /login); req -d '' $(u /login); req $(u /old-page); req "$(u '/foo?x=1')"; req $(u /static/tornado-0.2.tar.gz); }
t_errors() { req $(u /); req $(u /send_error); req $(u /send_error_write); req "$(u '/?code=404&title=Oops&content=Gone')"; req "$(u '/?code=503&title=t')"; }
t_hooks() { req $(u /); req -d '' $(u /); }
t_prepare() { req -H 'Content-Type: application/json' -d '{"a": "x", "b": 2}' $(u /); req -X PUT -H 'Content-Type: application/json; charset=UTF-8' -d '{"k": "v"}' $(u /); req -d 'a=1' $(u /); }
t_ip() { req $(u /); req $(u /info); req $(u /parallel); }
t_fetch() { req $(u /); }
t_feed() { req $(u /); }
t_house() { req $(u /); req $(u /new); req -d 'text=<script>alert("hello!");</script>' $(u /new); req -d 'text=<b>hi</b> %26 "x"' $(u /new_raw); }
t_entries() { req $(u /); req $(u /entry/3); req $(u /entry/1); req $(u /entry/9); }
run hello t_hello; run hello_post t_hello_post; run story t_story; run message_form t_form
run path_args t_path; run people_urls t_people
mkdir -p /tmp/seedcheck-up; ARG=/tmp/seedcheck-up run upload t_upload
run subdomains t_sub; run named_urls t_named; run arguments t_args; run write_json t_json
run headers t_headers; run status t_status; run redirect t_redirect; run errors t_errors
run hooks t_hooks; run prepare_json t_prepare; run httpserver t_hello
run ip_lookup t_ip; ARG=http://127.0.0.1:$U/ run coroutine_fetch t_fetch; run feed_count t_feed
run house_site t_house; run entries t_entries
kill $UP
