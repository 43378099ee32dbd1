"""A real standard-library workload: json and re over large inputs."""

import json
import re

records = [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i % 7)],
            "score": i * 0.5, "active": i % 3 == 0} for i in range(60000)]
pattern = re.compile(r"user(\d+)\D+(\d+)")

for _ in range(3):
    text = json.dumps(records)
    back = json.loads(text)
    found = sum(1 for _ in pattern.finditer(text))
    assert len(back) == len(records) and found > 0
