# Turns python-answers.txt into the C++ table of tests/test_examples.cpp.
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
out = []
for block in text.split("===== ")[1:]:
    name, rest = block.split("\n", 1)
    body = rest.split("-- stdout/stderr:")[0]
    ex = []
    for req in body.split("--- ")[1:]:
        head, resp = req.split("\n", 1)
        url = re.search(r"http://127\.0\.0\.1:18800(\S*)", head).group(1)
        opts = head[:head.index("http://127.0.0.1:18800")].strip()
        resp = resp.rstrip("\n") + "\n"
        ex.append((opts, url, resp))
    out.append((name, ex))
def q(s):
    return 'R"(' + s + ')"'
for name, ex in out:
    print(f'// {name}')
    print(f'const std::vector<exchange> {name}_exchanges = {{')
    for opts, url, resp in ex:
        print(f'    {{{json_str(opts) if False else repr(opts)}, {repr(url)}, {q(resp)}}},'.replace("'", '"'))
    print('};')
