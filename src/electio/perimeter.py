"""The study perimeter: which départements, and what is specific to them.

``--departement`` takes a code ('69', '2a', '971'), a comma-separated list
('01,69') or 'FR' (all of France). What a département needs beyond its code and
name (boundary files, municipal arrondissements, sub-territories such as the
Métropole de Lyon, default communes of figures) lives in one declarative file,
``data/perimeters/<code>.toml``; a plain département needs no file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from electio.errors import ElectioError
from electio.settings import PROJECT_ROOT

FRANCE = "FR"

#: Départements and overseas collectivities with communes and voters (COG 2026).
#: 984 (TAAF) and 989 (Clipperton) have no voters and are not included in 'FR'.
DEPARTEMENT_NAMES = {
    "01": "Ain", "02": "Aisne", "03": "Allier", "04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes", "07": "Ardèche", "08": "Ardennes", "09": "Ariège", "10": "Aube", "11": "Aude",
    "12": "Aveyron", "13": "Bouches-du-Rhône", "14": "Calvados", "15": "Cantal", "16": "Charente",
    "17": "Charente-Maritime", "18": "Cher", "19": "Corrèze", "2A": "Corse-du-Sud", "2B": "Haute-Corse",
    "21": "Côte-d'Or", "22": "Côtes-d'Armor", "23": "Creuse", "24": "Dordogne", "25": "Doubs", "26": "Drôme",
    "27": "Eure", "28": "Eure-et-Loir", "29": "Finistère", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "33": "Gironde", "34": "Hérault", "35": "Ille-et-Vilaine", "36": "Indre", "37": "Indre-et-Loire",
    "38": "Isère", "39": "Jura", "40": "Landes", "41": "Loir-et-Cher", "42": "Loire", "43": "Haute-Loire",
    "44": "Loire-Atlantique", "45": "Loiret", "46": "Lot", "47": "Lot-et-Garonne", "48": "Lozère",
    "49": "Maine-et-Loire", "50": "Manche", "51": "Marne", "52": "Haute-Marne", "53": "Mayenne",
    "54": "Meurthe-et-Moselle", "55": "Meuse", "56": "Morbihan", "57": "Moselle", "58": "Nièvre", "59": "Nord",
    "60": "Oise", "61": "Orne", "62": "Pas-de-Calais", "63": "Puy-de-Dôme", "64": "Pyrénées-Atlantiques",
    "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales", "67": "Bas-Rhin", "68": "Haut-Rhin", "69": "Rhône",
    "70": "Haute-Saône", "71": "Saône-et-Loire", "72": "Sarthe", "73": "Savoie", "74": "Haute-Savoie",
    "75": "Paris", "76": "Seine-Maritime", "77": "Seine-et-Marne", "78": "Yvelines", "79": "Deux-Sèvres",
    "80": "Somme", "81": "Tarn", "82": "Tarn-et-Garonne", "83": "Var", "84": "Vaucluse", "85": "Vendée",
    "86": "Vienne", "87": "Haute-Vienne", "88": "Vosges", "89": "Yonne", "90": "Territoire de Belfort",
    "91": "Essonne", "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis", "94": "Val-de-Marne",
    "95": "Val-d'Oise", "971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion",
    "976": "Mayotte", "975": "Saint-Pierre-et-Miquelon", "977": "Saint-Barthélemy", "978": "Saint-Martin",
    "986": "Wallis-et-Futuna", "987": "Polynésie française", "988": "Nouvelle-Calédonie",
}
ALL_DEPARTEMENTS = tuple(DEPARTEMENT_NAMES)


def parse_departements(text: str) -> list[str]:
    """'69' -> ['69']; '2a' -> ['2A']; '1,69' -> ['01', '69']; 'FR' -> every département.

    Raises ElectioError with a one-line message naming the unknown code.
    """
    parts = [p.strip().upper() for p in str(text or "").split(",") if p.strip()]
    if not parts:
        raise ElectioError("département vide / empty département: give a code such as 69, 2A, 971, "
                           "a list such as 01,69, or FR")
    if FRANCE in parts:
        if len(parts) > 1:
            raise ElectioError(f"'FR' already means all of France: do not combine it with other codes ({text!r})")
        return list(ALL_DEPARTEMENTS)
    out = []
    for part in parts:
        code = part.zfill(2) if part.isdigit() and len(part) < 2 else part
        if code not in DEPARTEMENT_NAMES:
            hint = " (Corsica is 2A or 2B)" if code == "20" else ""
            raise ElectioError(f"département inconnu / unknown département {part!r}{hint}: expected a code such "
                               "as 69, 2A, 971, a comma-separated list, or FR")
        if code not in out:
            out.append(code)
    return out


@dataclass(frozen=True)
class Territory:
    code: str
    label_fr: str
    ctcd: str | None = None
    epci: str | None = None
    default: bool = False


@dataclass(frozen=True)
class DepartementFile:
    """What ``data/perimeters/<code>.toml`` says (all optional but the code)."""

    code: str
    name: str
    boundaries: tuple[str, str] | None = None
    boundary_credit: str = ""
    arrondissement_commune: str | None = None
    arrondissement_codes: tuple[str, ...] = ()
    arrondissement_boundaries: tuple[str, str] | None = None
    territories: tuple[Territory, ...] = ()
    default_communes: tuple[str, ...] = ()


@lru_cache(maxsize=None)
def departement_file(code: str, folder: Path | None = None) -> DepartementFile:
    """The département's perimeter file, or a plain one (code and name) when it has none."""
    path = (folder or PROJECT_ROOT / "data" / "perimeters") / f"{code}.toml"
    if not path.exists():
        return DepartementFile(code=code, name=DEPARTEMENT_NAMES.get(code, f"département {code}"))
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        if doc.get("code") != code:
            raise ElectioError(f"{path}: code = {doc.get('code')!r}, expected {code!r} (the file name)")
        pair = lambda d: (d["source"], d["file"]) if d else None  # noqa: E731
        bounds, arr = doc.get("boundaries", {}), doc.get("arrondissements", {})
        return DepartementFile(
            code=code, name=doc.get("name", DEPARTEMENT_NAMES.get(code, code)),
            boundaries=pair(bounds.get("communes")), boundary_credit=bounds.get("credit", ""),
            arrondissement_commune=arr.get("commune"), arrondissement_codes=tuple(arr.get("codes", ())),
            arrondissement_boundaries=pair(arr.get("boundaries")),
            territories=tuple(Territory(**t) for t in doc.get("territories", [])),
            default_communes=tuple(doc.get("figures", {}).get("default_communes", ())))
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ElectioError(f"{path}: invalid perimeter file ({exc})") from exc


@dataclass(frozen=True)
class Perimeter:
    """The départements of one run and their perimeter files."""

    text: str
    departements: tuple[str, ...]
    files: tuple[DepartementFile, ...] = field(repr=False)

    @property
    def is_france(self) -> bool:
        return self.departements == ALL_DEPARTEMENTS

    @property
    def name(self) -> str:
        if self.is_france:
            return "France entière"
        return ", ".join(f.name for f in self.files)

    def boundary_files(self) -> list[tuple[str, tuple[str, str]]]:
        return [(f.code, f.boundaries) for f in self.files if f.boundaries]

    @property
    def default_communes(self) -> tuple[str, ...]:
        return tuple(c for f in self.files for c in f.default_communes)


def load_perimeter(text: str) -> Perimeter:
    deps = parse_departements(text)
    return Perimeter(text=FRANCE if tuple(deps) == ALL_DEPARTEMENTS else ",".join(deps), departements=tuple(deps),
                     files=tuple(departement_file(d) for d in deps))


def departement_name(code: str) -> str:
    return departement_file(code).name if code in DEPARTEMENT_NAMES else f"département {code}"
