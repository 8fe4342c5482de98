"""README's Python example runs as written: it is examples/python/quick_start.py
word for word, and that file runs."""
import os
import re
import runpy

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_readme_example_is_the_example_file_and_runs(capsys):
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("### Python"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    path = os.path.join(ROOT, "examples", "python", "quick_start.py")
    with open(path) as f:
        code = f.read()
    body = code[code.index('"""', 3) + 4:]  # after the docstring
    assert body.strip() == block.strip()
    runpy.run_path(path, run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("<medimg.Image 301x370x316 uint8 RAS")
    assert abs(float(out[1]) - 1.0) < 1e-6
    assert out[2].startswith("<medimg.Image 151x185x158 float32 RAS spacing (1, 1, 1) mm")
