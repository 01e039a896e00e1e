#!/usr/bin/env python3
"""Fails, naming each one, on any @Test function that checks nothing.

A test passes when it records no issue, so a test body without `#expect` or
`#require` cannot fail on a wrong result. A test counts as checking when its body
holds `#expect`/`#require`, or calls a function of its own test target that does
(directly or through other helpers). Comments and string literals are ignored;
string interpolations are code. Run by `make test` before the suite.

    Tests/check-expectations.py [Tests-directory]
"""
import os, re, sys

CHECK = re.compile(r"#(expect|require)\b")


def code_only(src):
    """The source with comments and string-literal text blanked (same length), interpolations kept."""
    out = list(src)
    i, n = 0, len(src)
    # Stack of open string literals: (hashes, multiline) and of paren depth inside interpolations.
    stack = []  # entries: ("str", hashes, multiline) or ("interp", depth)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        top = stack[-1] if stack else None
        if top is None or top[0] == "interp":
            if src.startswith("//", i):
                j = src.find("\n", i)
                j = n if j < 0 else j
                blank(i, j); i = j; continue
            if src.startswith("/*", i):
                depth, j = 1, i + 2
                while j < n and depth:
                    if src.startswith("/*", j): depth += 1; j += 2
                    elif src.startswith("*/", j): depth -= 1; j += 2
                    else: j += 1
                blank(i, j); i = j; continue
            m = re.compile(r'(#*)("""|")').match(src, i)
            if m and (m.group(1) or src[i] == '"'):
                stack.append(("str", len(m.group(1)), m.group(2) == '"""'))
                i = m.end(); continue
            if top is not None:
                if src[i] == "(":
                    stack[-1] = ("interp", top[1] + 1)
                elif src[i] == ")":
                    if top[1] == 0:
                        stack.pop(); i += 1; continue
                    stack[-1] = ("interp", top[1] - 1)
            i += 1
            continue
        _, hashes, multiline = top
        close = ('"""' if multiline else '"') + "#" * hashes
        if src.startswith(close, i):
            stack.pop(); i += len(close); continue
        escape = "\\" + "#" * hashes
        if src.startswith(escape + "(", i):
            blank(i, i + len(escape) + 1)
            stack.append(("interp", 0)); i += len(escape) + 1; continue
        if src.startswith(escape, i):
            blank(i, min(n, i + len(escape) + 1)); i += len(escape) + 1; continue
        if src[i] != "\n":
            out[i] = " "
        i += 1
    return "".join(out)


FUNC = re.compile(r"\bfunc\s+([A-Za-z_][A-Za-z0-9_]*)")


def functions(code):
    """(name, body, is_test) for every func with a body; is_test when an @Test attribute precedes it."""
    found = []
    for m in FUNC.finditer(code):
        brace = code.find("{", m.end())
        if brace < 0:
            continue
        # A protocol requirement or a declaration without a body: next func comes first.
        nxt = FUNC.search(code, m.end())
        if nxt and nxt.start() < brace:
            continue
        depth, j = 0, brace
        while j < len(code):
            if code[j] == "{": depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0: break
            j += 1
        body = code[brace:j + 1]
        # The attributes between the previous declaration's end and this func.
        before = code[:m.start()]
        start = max(before.rfind("}"), before.rfind("{"), before.rfind(";"))
        attributes = before[start + 1:]
        is_test = re.search(r"@Test\b", attributes) is not None
        found.append((m.group(1), body, is_test))
    return found


def calls(body, helper, types):
    """Whether `body` calls `helper`: bare, on an instance (`x.helper(`), or on a type of the
    target (`Golden.helper(`); `WhisperModel.load(` is not a call of a test helper `load`."""
    for m in re.finditer(r"(?:(\b[A-Za-z_][A-Za-z0-9_]*)\s*)?(\.)?\b%s\s*[({]" % re.escape(helper), body):
        receiver, dot = m.group(1), m.group(2)
        if not dot or receiver is None or not receiver[0].isupper() or receiver in types or receiver == "Self":
            return True
    return False


def check_target(files):
    funcs, types = [], set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            code = code_only(f.read())
        types |= set(re.findall(r"\b(?:struct|enum|class|extension|actor)\s+([A-Za-z_][A-Za-z0-9_]*)", code))
        funcs += [(path, name, body, is_test) for name, body, is_test in functions(code)]
    checking = {name for _, name, body, _ in funcs if CHECK.search(body)}
    changed = True
    while changed:
        changed = False
        for _, name, body, _ in funcs:
            if name not in checking and any(calls(body, h, types) for h in checking):
                checking.add(name); changed = True
    return [(path, name) for path, name, body, is_test in funcs
            if is_test and not CHECK.search(body) and not any(calls(body, h, types) for h in checking)]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)))
    bad = []
    for target in sorted(os.listdir(root)):
        d = os.path.join(root, target)
        if not os.path.isdir(d):
            continue
        files = [os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs if f.endswith(".swift")]
        bad += check_target(sorted(files))
    for path, name in bad:
        print(f"{os.path.relpath(path)}: @Test func {name} has no #expect or #require (nor calls a helper that has one)")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
