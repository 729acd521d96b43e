"""The package's shape: no import cycle (deferred imports count), no two modules of one name,
nothing rewrites ``sys.argv``, and the run-folder file names are spelled in one module only."""

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "pretrain_robustness"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports anywhere in it (inside functions too)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found |= {target} | {f"{target}.{alias.name}" for alias in node.names}
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    assert "pretrain_robustness.run.lightning_cli" in graph["pretrain_robustness.cli"]  # the graph sees real imports


def test_no_two_modules_share_a_name():
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert not [n for n, count in names.items() if count > 1]


def test_nothing_rewrites_sys_argv():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assert not any(ast.unparse(t).startswith("sys.argv") for t in targets), path


# each on-disk format's spellings and the one module that reads and writes it
FORMAT_OWNERS = {
    "store/runs.py": ['"run.json"', '"metrics.csv"', '"last.ckpt"', '"config.yaml"', '"best-epoch', '"predictions-',
                      '"evaluation.json"', '"out.log"', 'epoch_(', '"open_clip"'],
    "store/liveness.py": ['".lock"'],
    "clip/webdataset_subsets.py": ['"subset.json"'],
}


def test_each_on_disk_format_has_one_owner():
    for owner, spellings in FORMAT_OWNERS.items():
        for spelling in spellings:
            spelled = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if spelling in p.read_text()}
            assert spelled == {owner}, f"{spelling} is spelled in {sorted(spelled)}; only {owner} may"


STATUS_WORDS = ["queued", "running", "finished", "failed", "interrupted", "stopped", "waiting", "dead", "pending"]


def status_constants(tree: ast.AST) -> list[str]:
    """Status words used as a status: compared, returned, or given as a ``status`` value."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            candidates = [node.left, *node.comparators]
            candidates += [e for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set)) for e in c.elts]
        elif isinstance(node, ast.keyword) and node.arg == "status":
            candidates = [node.value]
        elif isinstance(node, ast.Dict):
            candidates = [v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and k.value == "status"]
        elif isinstance(node, ast.Return) and node.value is not None:
            candidates = [node.value, *(node.value.elts if isinstance(node.value, ast.Tuple) else [])]
        else:
            continue
        candidates += [b for c in candidates if isinstance(c, ast.IfExp) for b in (c.body, c.orelse)]
        found += [c.value for c in candidates if isinstance(c, ast.Constant) and c.value in STATUS_WORDS]
    return found


def test_run_status_words_are_the_enum():
    for path in PACKAGE.rglob("*.py"):
        if path.name != "states.py":
            words = status_constants(ast.parse(path.read_text()))
            assert not words, f"{path.relative_to(PACKAGE)} spells run status {words}: use store.RunStatus"
    assert status_constants(ast.parse('x = {"status": "finished"}\nif s == "running": pass')) == ["finished", "running"]


def test_the_package_top_shows_folders():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= 4, top
    assert "cli.py" in top and len([p for p in PACKAGE.rglob("*.py") if "cli" in p.stem.split("_")]) == 2  # cli + lightning_cli


def test_module_and_function_sizes():
    """No module over 300 lines, no function over 50 (STYLE.md: short functions, modules under ~300 lines)."""
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert text.count("\n") <= 300, f"{path.relative_to(PACKAGE)}: {text.count(chr(10))} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 50, f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} is {length} lines"


def test_the_store_exports_every_public_name_of_its_modules():
    """Callers write ``store.<name>``: a name a store module defines but the package does not export is an
    AttributeError waiting in some rarely taken branch (a SLURM job's continuation, say)."""
    import pretrain_robustness.store as store

    for module in ("runs", "liveness", "attempts", "states"):
        tree = ast.parse((PACKAGE / "store" / f"{module}.py").read_text())
        public = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
        public += [t.id for n in tree.body if isinstance(n, ast.Assign) for e in n.targets
                   for t in (e.elts if isinstance(e, ast.Tuple) else [e]) if isinstance(t, ast.Name) and not t.id.startswith("_")]
        missing = [name for name in public if not hasattr(store, name)]
        assert not missing, f"store/{module}.py: {missing} not exported by pretrain_robustness.store"
