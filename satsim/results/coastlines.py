"""Coastlines for map plots, from a land/sea mask shipped offline.

The mask is the one the ``global-land-mask`` package ships (T. Karin, MIT
licence, version 1.0.0): a 30 arc-second grid, 21600 x 43200 booleans, True on
sea, derived from NOAA's GLOBE 1 km digital elevation model. Rows run from
90°N southward and columns from 180°W eastward; the package's own ``lat`` and
``lon`` arrays give the exact coordinates. Most lakes count as land, so lakes
get no outline, and there are no country borders.

Importing that package inflates the whole grid (0.9 GB, ~4 s), so this module
never imports it: it finds the package's compressed file, streams the mask
rows the map needs and averages them into blocks of about ``max_cells`` across
the map, then contours the land fraction at 0.5. Inflating is sequential, so a
map costs the time to stream down to its southern edge: ~0.8 s for the
contiguous US, ~2.4 s for the whole globe (measured on 2 shared cores).
Results are cached per extent within a process.

Longitudes of an extent may leave [-180, 180] (e.g. 170..200 for the Aleutians
across the antimeridian); the coastlines come back in the same frame.
"""

from __future__ import annotations

import importlib.util
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

#: The distribution that ships the mask (the dependency to install); this module
#: reads its data file, whose name and layout are those of this release.
MASK_DISTRIBUTION = "global-land-mask==1.0.0"
_MASK_PACKAGE = "global_land_mask"
_MASK_FILE = "globe_combined_mask_compressed.npz"
#: Bytes inflated per read while streaming the mask.
_READ_BYTES = 1 << 23


def mask_path() -> Path | None:
    """Path of the compressed land/sea mask, or None when the package is absent.

    Finds the package without importing it (an import would inflate the whole
    mask into memory).
    """
    spec = importlib.util.find_spec(_MASK_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _MASK_FILE
        if path.is_file():
            return path
    return None


def land_fraction(lat_min_deg: float, lat_max_deg: float, lon_min_deg: float,
                  lon_max_deg: float, max_cells: int = 800):
    """Fraction of land in blocks of the mask covering a latitude/longitude box.

    Parameters
    ----------
    lat_min_deg, lat_max_deg : float
        Southern and northern edges, degrees, clipped to [-90, 90].
    lon_min_deg, lon_max_deg : float
        Western and eastern edges, degrees east, ``lon_min_deg < lon_max_deg``;
        they may leave [-180, 180] to cross the antimeridian (span <= 360).
    max_cells : int
        About this many blocks along the box's longer side; a block is a whole
        number of 30" mask cells.

    Returns
    -------
    lat_deg : numpy.ndarray, shape (n,)
        Block-centre latitudes, increasing.
    lon_deg : numpy.ndarray, shape (m,)
        Block-centre longitudes in the frame of the arguments, increasing.
    land : numpy.ndarray, shape (n, m)
        Land fraction of each block, 0..1.

    Raises
    ------
    FileNotFoundError
        When ``global-land-mask`` is not installed.
    ValueError
        When the box is empty or the mask file has an unexpected layout.
    """
    lat_min_deg, lat_max_deg = max(lat_min_deg, -90.0), min(lat_max_deg, 90.0)
    if not (lat_min_deg < lat_max_deg and lon_min_deg < lon_max_deg
            and lon_max_deg - lon_min_deg <= 360.0):
        raise ValueError(
            f"empty or invalid map box lat {lat_min_deg}..{lat_max_deg}°, lon "
            f"{lon_min_deg}..{lon_max_deg}°: give south < north and west < east "
            "with a longitude span of at most 360°"
        )
    return _land_fraction_cached(float(lat_min_deg), float(lat_max_deg),
                                 float(lon_min_deg), float(lon_max_deg), int(max_cells))


def coastline_segments(lat_min_deg: float, lat_max_deg: float, lon_min_deg: float,
                       lon_max_deg: float, max_cells: int = 800) -> list[np.ndarray]:
    """Coastlines inside a latitude/longitude box, as polylines.

    Arguments as :func:`land_fraction`. Returns a list of arrays of shape
    ``(k, 2)``: columns longitude and latitude, degrees, in the frame of the
    arguments. The lines are the 0.5 contour of the block land fraction, so
    they are accurate to about one block (the box's longer side / max_cells).
    """
    return list(_segments_cached(float(lat_min_deg), float(lat_max_deg), float(lon_min_deg),
                                 float(lon_max_deg), int(max_cells)))


def draw_coastlines(ax, lat_min_deg: float, lat_max_deg: float, lon_min_deg: float,
                    lon_max_deg: float, **line_kw) -> str | None:
    """Draw coastlines of a box on a matplotlib Axes with lon/lat data axes.

    Returns None when drawn, else a short reason for the plot's title (the
    mask package is missing or unreadable); never raises for those.
    """
    if mask_path() is None:
        return f"no coastlines: pip install {MASK_DISTRIBUTION}"
    try:
        segments = coastline_segments(lat_min_deg, lat_max_deg, lon_min_deg, lon_max_deg)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        return f"no coastlines: {exc}"
    from matplotlib.collections import LineCollection

    style = {"colors": "0.15", "linewidths": 0.6, "zorder": 3} | line_kw
    ax.add_collection(LineCollection(segments, **style), autolim=False)
    return None


@lru_cache(maxsize=8)
def _land_fraction_cached(lat_min, lat_max, lon_min, lon_max, max_cells):
    path = mask_path()
    if path is None:
        raise FileNotFoundError(
            f"the land/sea mask is not installed: pip install {MASK_DISTRIBUTION}"
        )
    with np.load(path) as npz:
        lat_all, lon_all = npz["lat"], npz["lon"]
    step_deg = abs(float(lon_all[1] - lon_all[0]))
    block = max(1, round(max(lat_max - lat_min, lon_max - lon_min) / max_cells / step_deg))
    rows = _block_range(lat_all, lat_min, lat_max, block)
    cols = np.arange(int(np.ceil((lon_min - lon_all[0]) / step_deg)),
                     int(np.floor((lon_max - lon_all[0]) / step_deg)) + 1)
    cols = cols[: len(cols) // block * block]
    if rows.stop <= rows.start or len(cols) == 0:
        raise ValueError(f"map box lat {lat_min}..{lat_max}°, lon {lon_min}..{lon_max}° "
                         "is smaller than one mask block: widen it")
    sea = _stream_block_means(path, rows, cols % len(lon_all), block)
    lat = lat_all[rows].reshape(-1, block).mean(axis=1)
    lon = (lon_all[0] + cols * step_deg).reshape(-1, block).mean(axis=1)
    # Rows run north to south in the mask; return latitudes increasing.
    land = 1.0 - sea[::-1]
    for array in (lat, lon, land):
        array.flags.writeable = False
    return lat[::-1], lon, land


def _block_range(lat_all: np.ndarray, lat_min: float, lat_max: float, block: int) -> range:
    """Mask rows (north to south) inside [lat_min, lat_max], a whole number of blocks."""
    inside = np.flatnonzero((lat_all >= lat_min) & (lat_all <= lat_max))
    if len(inside) == 0:
        return range(0)
    n = len(inside) // block * block
    return range(int(inside[0]), int(inside[0]) + n)


def _stream_block_means(path: Path, rows: range, cols: np.ndarray, block: int) -> np.ndarray:
    """Mean of the mask over ``block`` x ``block`` cells of the given rows and columns.

    Reads the ``mask.npy`` member of the npz file as a stream, inflating only
    down to the last row wanted, and keeps one block row in memory at a time.
    """
    with zipfile.ZipFile(path) as zf, zf.open("mask.npy") as f:
        shape, dtype = _read_npy_header(f)
        ncol = shape[1]
        _skip(f, rows.start * ncol)
        rows_per_read = max(block, _READ_BYTES // ncol // block * block)
        contiguous = bool(np.all(np.diff(cols) == 1))
        out = []
        for first in range(rows.start, rows.stop, rows_per_read):
            nrow = min(rows_per_read, rows.stop - first)
            chunk = np.frombuffer(_read_exact(f, nrow * ncol), dtype=dtype).reshape(nrow, ncol)
            chunk = chunk[:, cols[0]:cols[-1] + 1] if contiguous else chunk[:, cols]
            counts = chunk.reshape(nrow // block, block, -1, block).sum(axis=(1, 3),
                                                                        dtype=np.int32)
            out.append(counts / float(block * block))
    return np.concatenate(out, axis=0)


def _read_npy_header(f) -> tuple[tuple[int, int], np.dtype]:
    """Shape and dtype of a C-ordered 2-D boolean ``.npy`` stream; checks the layout."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
    if len(shape) != 2 or fortran_order or dtype != np.bool_:
        raise ValueError(
            f"unexpected land mask layout (shape {shape}, dtype {dtype}, Fortran order "
            f"{fortran_order}): reinstall {MASK_DISTRIBUTION}"
        )
    return shape, dtype


def _skip(f, nbytes: int) -> None:
    """Inflate and drop ``nbytes`` of a stream."""
    while nbytes > 0:
        got = len(f.read(min(nbytes, _READ_BYTES)))
        if got == 0:
            raise ValueError(f"land mask file ends early: reinstall {MASK_DISTRIBUTION}")
        nbytes -= got


def _read_exact(f, nbytes: int) -> bytes:
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"land mask file ends early: reinstall {MASK_DISTRIBUTION}")
    return data


@lru_cache(maxsize=8)
def _segments_cached(lat_min, lat_max, lon_min, lon_max, max_cells):
    import contourpy  # a dependency of matplotlib

    lat, lon, land = land_fraction(lat_min, lat_max, lon_min, lon_max, max_cells)
    if min(land.shape) < 2:
        return ()
    gen = contourpy.contour_generator(lon, lat, land, line_type=contourpy.LineType.Separate)
    return tuple(np.asarray(line) for line in gen.lines(0.5) if len(line) >= 2)
