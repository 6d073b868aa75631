"""Issue 22: the unit registry is built from pint's definition cache when it can be, and is the same
registry either way; the memory of unit-name splits forgets them at a new definition."""

import json
import subprocess
import sys

from dosimetry.units import Q_, ureg

#: Units the package and its users write, and units pint adds to its tables only once used.
NAMES = ("GBq", "MBq", "kBq", "Bq", "mCi", "Ci", "Gy", "mGy", "Gy*kg/GBq", "mL", "L", "cm**3", "g", "kg", "g/mL", "kg/m**3",
         "cts", "cts/s", "cts/mL", "Bq/mL", "h", "min", "s", "d", "mm", "cm", "m", "mg/dL", "umol/L", "kilometer", "microliter",
         "microgram", "decimeter", "Sv", "percent", "MeV")
PROBE = (
    "import json; from dosimetry.units import Q_; "
    f"print(json.dumps({{n: repr(Q_(1.0, n).to_base_units()) for n in {NAMES!r}}}))"
)


def _probe(tmp_path, **env) -> list:
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         env={"PATH": "", "HOME": str(tmp_path), **env})
    return json.loads(run.stdout)


def test_cached_uncached_and_unwritable_cache_give_the_same_units(tmp_path):
    cache = tmp_path / "cache"
    first = _probe(tmp_path, XDG_CACHE_HOME=str(cache))  # writes the cache
    assert any(cache.rglob("*.pickle"))
    again = _probe(tmp_path, XDG_CACHE_HOME=str(cache))  # reads it
    parsed = _probe(tmp_path, Y90_UNITS_CACHE="0")
    nowhere = _probe(tmp_path, XDG_CACHE_HOME="/proc/no-such-folder")  # cannot be made: parsed instead
    assert first == again == parsed == nowhere
    assert first["GBq"] == "<Quantity(1e+09, 'count / second')>" and first["mL"] == "<Quantity(1e-06, 'meter ** 3')>"


def test_a_new_definition_is_seen_by_names_split_before():
    reg = type(ureg)(cache_folder=":auto:")  # a registry of the package's kind, not the package's one
    assert reg.parse_unit_name("mGy") == ureg.parse_unit_name("mGy") == (("milli", "gray", ""),)
    assert reg.parse_unit_name("mfoo_y90test") == ()
    reg.define("foo_y90test = 3 * gray")
    assert reg.parse_unit_name("mfoo_y90test") == (("milli", "foo_y90test", ""),)
    assert reg.Quantity(1, "mfoo_y90test").to("Gy").magnitude == 0.003
    assert Q_(2, "mGy").to("Gy").magnitude == 0.002
