"""What tools/new_service.py checks and renders before it writes anything (standard library
only, so the tests of the services' resolve call it without copier): the name and description
checks, the text the template gets for its BUILD call and package docstring, and the new
ruff.toml.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
import textwrap
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from importlib.metadata import packages_distributions
from pathlib import Path

from tools.artifacts import LOCKFILE, ArtifactError, locked_requirements, normalise, source_roots

NAME = re.compile(r"[a-z][a-z0-9_]*")
# Room for the directories the tool and Pants make of it (services/.<name>.rendering, ...) in a
# file name of at most 255 bytes, with a margin for readers.
MAX_NAME_LENGTH = 64
# ruff.toml's line-length, which `ruff check` (E501) and `ruff format` hold the code to.
RUFF_LINE_LENGTH = 100
# Black's default, which `./pants update-build-files` formats BUILD files with.
BUILD_LINE_LENGTH = 88
# The services' requirements; their `reqs` target maps the modules named otherwise.
REQUIREMENTS_BUILD = Path("3rdparty/python/BUILD")

# The top-level modules of the lockfile's distributions whose modules are not (only) their
# name, as their locked wheels install them: the lockfile records no modules, and Pants'
# default module mapping misses some (pyzmq, ruamel-yaml, python-multipart). Listed from the
# wheels of 3rdparty/python/default.lock's pins; the distributions installed where the tool runs
# are read from their own metadata as well (`packages_distributions`), and a test checks this
# table against the distributions installed in its environment.
IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "antlr4-python3-runtime": ("antlr4",),
    "atpublic": ("public",),
    "attrs": ("attr", "attrs"),
    "bentoml": ("bentoml", "bentoml_cli", "_bentoml_impl", "_bentoml_sdk"),
    "cattrs": ("cattr", "cattrs"),
    "cffi": ("cffi", "_cffi_backend"),
    "cfn-lint": ("cfnlint",),
    "configobj": ("configobj", "validate"),
    "flufl-lock": ("flufl",),
    "fonttools": ("fontTools",),
    "gitpython": ("git",),
    "graphql-core": ("graphql",),
    "hydra-core": ("hydra",),
    "hypothesis": (
        "hypothesis",
        "_hypothesis_ftz_detector",
        "_hypothesis_globals",
        "_hypothesis_pytestplugin",
    ),
    "ipykernel": ("ipykernel", "ipykernel_launcher"),
    "ipython": ("IPython",),
    "jupyter-core": ("jupyter", "jupyter_core"),
    "kantoku": ("circus",),
    "markdown-it-py": ("markdown_it",),
    "matplotlib": ("matplotlib", "mpl_toolkits", "pylab"),
    "mypy": ("mypy", "mypyc"),
    "nvidia-ml-py": ("pynvml", "example"),
    "omegaconf": ("omegaconf", "pydevd_plugins"),
    "opentelemetry-api": ("opentelemetry",),
    "opentelemetry-instrumentation": ("opentelemetry",),
    "opentelemetry-instrumentation-aiohttp-client": ("opentelemetry",),
    "opentelemetry-instrumentation-asgi": ("opentelemetry",),
    "opentelemetry-sdk": ("opentelemetry",),
    "opentelemetry-semantic-conventions": ("opentelemetry",),
    "opentelemetry-util-http": ("opentelemetry",),
    "pillow": ("PIL",),
    "pip-requirements-parser": ("pip_requirements_parser", "packaging_legacy_version"),
    "pytest": ("pytest", "_pytest", "py"),
    "python-dateutil": ("dateutil",),
    "python-dotenv": ("dotenv",),
    "python-hcl2": ("hcl2", "cli"),
    "python-json-logger": ("pythonjsonlogger",),
    "python-multipart": ("multipart", "python_multipart"),
    "pyyaml": ("yaml", "_yaml"),
    "pyzmq": ("zmq",),
    "rpds-py": ("rpds",),
    "ruamel-yaml": ("ruamel",),
    "scikit-learn": ("sklearn",),
    # pkg_resources: older setuptools ship it, and Pants maps it to setuptools.
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "sympy": ("sympy", "isympy"),
    "torch": ("torch", "functorch", "torchgen"),
    "zc-lockfile": ("zc",),
}


def third_party_modules(
    root: Path, installed: Mapping[str, Sequence[str]] | None = None
) -> dict[str, str]:
    """Each top-level module of a distribution the services' lockfile holds, to its project:
    the modules REQUIREMENTS_BUILD maps (pyyaml's yaml), those IMPORT_NAMES lists, those the
    distributions `installed` where this runs install (module -> distributions, by default
    `packages_distributions()`), and for every project the guess Pants makes too, its name in
    lower case with `-` and `.` made `_`."""
    projects = {
        normalise(locked["project_name"]): locked["project_name"]
        for locked in locked_requirements(root / LOCKFILE)
    }
    modules = {re.sub(r"[-.]", "_", project.lower()): project for project in projects.values()}
    for module, distributions in (
        packages_distributions() if installed is None else installed
    ).items():
        for distribution in distributions:
            if normalise(distribution) in projects:
                modules[module] = projects[normalise(distribution)]
    for project, known in IMPORT_NAMES.items():
        if project in projects:
            modules.update({module: projects[project] for module in known})
    for project, names in _module_mapping(root / REQUIREMENTS_BUILD).items():
        modules.update({module.split(".")[0]: project for module in names})
    return modules


def _module_mapping(build: Path) -> dict[str, list[str]]:
    """The `module_mapping` of the `reqs` python_requirements in `build` (a literal there)."""
    for node in ast.walk(ast.parse(build.read_text(), str(build))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "python_requirements":
            arguments = {argument.arg: argument.value for argument in node.keywords}
            if "name" in arguments and ast.literal_eval(arguments["name"]) == "reqs":
                mapping = arguments.get("module_mapping")
                return ast.literal_eval(mapping) if mapping is not None else {}
    raise ValueError(f"{build} has no python_requirements named reqs")


def source_root_modules(root: Path) -> set[str]:
    """The top-level modules of every source root pants.toml names: its packages (directories
    holding Python files) and its modules (the root's conftest.py, the DAG files, ...)."""
    try:
        roots = source_roots(root)
    except ArtifactError as problem:
        raise ValueError(str(problem)) from None
    names: set[str] = set()
    for source_root in roots:
        for entry in source_root.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and next(entry.rglob("*.py"), None) is not None:
                names.add(entry.name)
    return names


def check_name(name: str, taken: set[str], third_party: dict[str, str]) -> None:
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a lowercase Python identifier (a-z, digits, _)")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(name):
        raise ValueError(f"{name!r} is a Python keyword: no package can be imported by that name")
    if name in sys.stdlib_module_names:
        raise ValueError(
            f"{name!r} is a module of Python's standard library: the service's package would "
            "hide it from every module of the service"
        )
    if name in third_party:
        raise ValueError(
            f"{name!r} is the module of {third_party[name]}, which the services' lockfile holds: "
            "the service's package would hide it from every module of the service"
        )
    if name in taken:
        raise ValueError(
            f"{name!r} is already a package of the repo (a service, a lib, a module of a source "
            "root, or in ruff.toml's known-first-party)"
        )


def _escaped(text: str) -> str:
    """`text` as the inside of a triple-quoted string. A quote at its end is written \\x22:
    `ruff format` would put a space before the closing quotes after a \\\", changing the text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped[:-2] + "\\x22" if escaped.endswith('"') else escaped


# The widest escaped line of the docstring: room for its opening and closing quotes on one line.
DOCSTRING_WIDTH = RUFF_LINE_LENGTH - 2 * len('"""')


def check_description(description: str) -> None:
    """Refuses a description whose docstring ruff would reject: more than one line, a character
    outside printable ASCII (ruff flags look-alikes of ASCII such as an en dash, RUF001-RUF003;
    the docstring keeps to ASCII), or a word too long to wrap within the line length (E501)."""
    if not description.strip():
        raise ValueError("--description is empty: say in one line what the service does")
    if not description.isprintable():
        raise ValueError(f"--description {description!r} is not one line of printable text")
    for character in description:
        if not character.isascii():
            raise ValueError(
                f"--description has {unicodedata.name(character, 'an unnamed character')} "
                f"(U+{ord(character):04X}): the package docstring keeps to ASCII, since ruff "
                "flags characters that look like ASCII ones (RUF002); write it in ASCII"
            )
    for word in _escaped(description.strip()).split():
        if len(word) > DOCSTRING_WIDTH:
            raise ValueError(
                f"--description has a word of {len(word)} characters, {word[:20]!r}...: it cannot "
                f"be wrapped within ruff's line length of {RUFF_LINE_LENGTH}"
            )


def docstring(description: str) -> str:
    """The package's docstring literal: the description, escaped, wrapped so that every line
    with its quotes is within ruff's line length."""
    lines = textwrap.wrap(
        _escaped(description.strip()),
        width=DOCSTRING_WIDTH,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return '"""' + "\n".join(lines) + '"""'


def build_call(function: str, arguments: Sequence[str]) -> str:
    """A call in a BUILD file as Black formats it: on one line if it fits, else its arguments
    on one indented line, else one argument per line with a trailing comma."""
    one_line = f"{function}({', '.join(arguments)})"
    if len(one_line) <= BUILD_LINE_LENGTH:
        return one_line
    body = f"    {', '.join(arguments)}"
    if len(body) <= BUILD_LINE_LENGTH:
        return f"{function}(\n{body}\n)"
    return f"{function}(\n" + "".join(f"    {argument},\n" for argument in arguments) + ")"


def template_data(name: str, description: str) -> dict[str, str]:
    """What the template's files are rendered with."""
    return {
        "name": name,
        "description": description,
        "docstring": docstring(description),
        "service_artifact": build_call(
            "service_artifact", [f'name="{name}"', f'entry_point="{name}.cli:main"']
        ),
        "python_tests": build_call(
            "python_tests", ['name="tests"', f'batch_compatibility_tag="{name}"']
        ),
    }


def _first_party_list(ruff_toml: str) -> re.Match[str]:
    match = re.search(r"known-first-party = \[(.*?)\n\]", ruff_toml, flags=re.DOTALL)
    if match is None:
        raise ValueError("ruff.toml has no multi-line known-first-party list")
    return match


def first_party(ruff_toml: str) -> set[str]:
    """The packages ruff.toml's [lint.isort] known-first-party names: every top-level package of
    the repo (tests, tools, iac, ...), not only the services and libs."""
    return set(re.findall(r'"([^"]+)"', _first_party_list(ruff_toml).group(1)))


def _parsed_first_party(ruff_toml: str) -> list[str]:
    listed = tomllib.loads(ruff_toml)["lint"]["isort"]["known-first-party"]
    if not isinstance(listed, list):
        raise TypeError("known-first-party is not a list")
    return [str(name) for name in listed]


def with_first_party(ruff_toml: str, name: str) -> str:
    """ruff.toml with `name` appended to known-first-party, so imports of it sort as the repo's
    own. The last entry may have no comma after it (TOML allows that): one is added. The result
    must parse to the list plus `name`, else ValueError."""
    try:
        before = _parsed_first_party(ruff_toml)
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"ruff.toml has no readable known-first-party list ({error})") from None
    listed = _first_party_list(ruff_toml)
    # Its strings, comments left out (a comment may quote a name).
    entries = [
        m for m in re.finditer(r'"[^"\n]*"|#[^\n]*', listed.group(1)) if m[0].startswith('"')
    ]
    end = listed.end(1)
    text = ruff_toml[:end] + f'\n  "{name}",' + ruff_toml[end:]
    if entries:
        last = listed.start(1) + entries[-1].end()
        if not ruff_toml[last:end].lstrip().startswith(","):
            text = text[:last] + "," + text[last:]
    try:
        after = _parsed_first_party(text)
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"ruff.toml would not parse with {name!r} added ({error})") from None
    if after != [*before, name]:
        raise ValueError(f"ruff.toml's known-first-party would not end in {name!r} once added")
    return text
