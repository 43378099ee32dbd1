"""Dict and string heavy: building, joining and looking up text keys."""

words = [f"word{i}" for i in range(2000)]


def build(n):
    table = {}
    for i in range(n):
        key = words[i % len(words)] + "-" + str(i % 977)
        table[key] = table.get(key, "") + key[:3]
    return table


def render(table):
    return ";".join(f"{k}={v}" for k, v in sorted(table.items()))


for _ in range(4):
    render(build(200000))
