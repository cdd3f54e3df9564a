"""Settings of the link layer: carrier, satellite payload, handset radio, losses,
beams, serving rules, and the whole :class:`LinkConfig`.

Each setting is declared once, here (default, unit in the name, range and
description; ``satsim._settings``); the scenario schema's ``carrier``,
``satellite``, ``handsets.radio``, ``losses``, ``environment``, ``beams`` and
``link`` sections are these classes. Defaults and their sources:

* Carrier: PCS G block, 1990-1995 MHz down / 1910-1915 MHz up, 5 MHz (LTE
  band 25), the spectrum Starlink Direct to Cell uses in the US (FCC order of
  26 Nov 2024); 25 resource blocks of 180 kHz in 5 MHz (3GPP TS 36.101
  Table 5.6-1).
* Satellite: Starlink's direct-to-cell payload as far as it is public
  (``NTN_REFERENCE.md`` §4a): a planar array of about 2.7 m x 2.3 m (35.4 dBi
  with uniform illumination, an assumption), 58 dBW peak EIRP per 5 MHz beam
  (FCC SAT-MOD-20230207-00021). The textbook payloads of TR 38.821 v16.1.0
  Table 6.1.1.1-1 / -2 (LEO-600 Set-1 / Set-2, S-band, circular apertures) are
  :data:`TR38821_SET1` and :data:`TR38821_SET2`.
* Beams: Earth-fixed hexagonal cells (the filing: beam centres stationary on the
  ground, Doppler and timing compensated in and between beams), half the beam's
  3 dB footprint at nadir in radius, every cell of the handsets' region lit,
  interfering beams at 10 % activity (an idle LTE cell's reference signals,
  TS 36.211 §6.10.1). Moving beams (a lattice fixed to the satellite body) are
  ``BeamSettings(mode="moving")``.
* Handset: TR 38.821 Table 6.1.1.1-3, handheld: 23 dBm, 0 dBi, noise figure
  7 dB, antenna temperature 290 K (G/T -31.6 dB/K).
* Propagation: TR 38.811 v15.4.0 §6.6, rural. A loss term is ``True`` (use the
  model), ``False`` (off, 0 dB) or a number (that fixed value in dB).
* Unmodified-phone tolerances: 5 kHz downlink and 7.5 kHz uplink residual Doppler
  (assumptions, see their descriptions), 31,250 Hz/s Doppler rate (TS 36.101
  Annex B.3), the largest LTE timing advance for the differential delay
  (TS 36.213 §4.2.3).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from .._settings import settings
from ..constants import T0_K
from ..errors import InputError
from ..orbits.defaults import DEFAULT_MIN_ELEVATION_DEG
from .antenna import HALF_POWER_U, payload_aperture_radius_m, wavenumber_rad_m
from .beams import BeamLayout, cone_beam_layout, hex_beam_layout, off_nadir_angle_deg

#: Environments of TR 38.811 §6.6 tables.
ENVIRONMENTS = ("dense_urban", "urban", "suburban", "rural")
#: The TR 38.811 environment, one declaration for the scenario's top-level key and
#: :class:`Propagation`.
Environment = Annotated[Literal[ENVIRONMENTS], Field(
    description="TR 38.811 clutter environment (LOS probability, shadow fading, clutter "
                "loss tables).")]
DEFAULT_ENVIRONMENT = "rural"

#: Largest downlink Doppler shift LTE UE performance is specified against:
#: 750 Hz, high-speed-train scenario, 3GPP TS 36.101 Annex B.3 Table B.3-1. A
#: baseband *test* envelope, not an acquisition limit (NTN_REFERENCE §4a); kept
#: for the TR 38.821 textbook scenarios.
LTE_MAX_DOPPLER_HZ = 750.0
#: Downlink residual Doppler a phone acquires and tracks, Hz (an assumption, no
#: 3GPP figure exists): a phone must find terrestrial cells with its own
#: oscillator's error before lock, about ±2.5 ppm for a handset TCXO, 5 kHz at
#: 2 GHz, so its cell search already resolves offsets of that size; once locked
#: its frequency loop follows the downlink (TS 36.101 §6.5.1: the uplink is
#: within 0.1 ppm of the *received* carrier).
PHONE_DL_DOPPLER_TOLERANCE_HZ = 5000.0
#: Uplink residual Doppler the satellite's receiver accepts, Hz (an assumption):
#: half the 15 kHz SC-FDMA subcarrier spacing (TS 36.211 §5.2), the widest
#: offset a receiver that corrects each phone's frequency can tell from the
#: neighbouring subcarrier. Terrestrial base stations are conformance-tested
#: only to 1,340-1,944 Hz (TS 36.141 Annex B.3, high-speed train), a floor
#: rather than a limit.
SATELLITE_UL_DOPPLER_TOLERANCE_HZ = 7500.0
#: Residual Doppler rate a phone follows, Hz/s: the steepest point of TS 36.101
#: Annex B.3's high-speed-train trajectory (f_d v / D_min = 750 Hz x 83.3 m/s /
#: 2 m), through which a conformant phone demodulates; LEO passes give about
#: 1 kHz/s at most at 2 GHz.
LTE_HST_MAX_DOPPLER_RATE_HZ_S = 750.0 * (300.0 / 3.6) / 2.0
#: Largest LTE timing advance, N_TA = 1282 x 16 Ts with Ts = 1 / 30.72 MHz
#: (TS 36.213 §4.2.3, TS 36.211 §8.1): 0.668 ms round trip, so a one-way
#: differential delay of up to 0.334 ms (about 100 km) is absorbed.
LTE_MAX_DIFFERENTIAL_DELAY_S = 1282 * 16 / 30.72e6 / 2.0

#: What a payload gets when neither of a pair is given: the beamwidth of TR 38.821 v16.1.0
#: Table 6.1.1.1-2 LEO-600 Set-2 (for the circular antenna; the rectangular array's
#: follows from its size), and the EIRP density of SpaceX's direct-to-cell filing
#: (SAT-MOD-20230207-00021: 58 dBW peak EIRP per 5 MHz beam, 58 - 10 log10 5 = 51.0103 dBW/MHz).
_PAYLOAD_FALLBACK = {"beamwidth_3db_deg": 8.8320, "eirp_density_dbw_mhz": 51.0103}


@settings("carrier")
class Carrier:
    """Downlink and uplink carriers and the frequency reuse across beams
    (default: PCS G block, LTE band 25, 5 MHz)."""

    dl_center_mhz: float = Field(1992.5, gt=0, description="Downlink carrier centre, MHz.")
    ul_center_mhz: float = Field(1912.5, gt=0, description="Uplink carrier centre, MHz.")
    bandwidth_mhz: float = Field(5.0, gt=0, description="Channel bandwidth per direction, MHz "
                                                        "(the noise bandwidth of the CNR, as "
                                                        "in TR 38.821's link budgets).")
    n_rb: int = Field(25, ge=1, description="Resource blocks in the channel (25 for 5 MHz "
                                            "LTE, TS 36.101 Table 5.6-1).")
    reuse: Literal[1, 3, 4] = Field(
        1, description="Frequency reuse: the channel is split into this many sub-bands, one "
                       "per beam colour; only beams of the same colour interfere.")

    def __post_init__(self):
        if self.n_rb < self.reuse:
            raise InputError(f"carrier.n_rb ({self.n_rb}) must be at least reuse "
                             f"({self.reuse}): each colour needs a resource block")

    @property
    def dl_center_hz(self) -> float:
        """Downlink carrier centre, Hz."""
        return self.dl_center_mhz * 1e6

    @property
    def ul_center_hz(self) -> float:
        """Uplink carrier centre, Hz."""
        return self.ul_center_mhz * 1e6

    @property
    def bandwidth_hz(self) -> float:
        """Channel bandwidth per direction, Hz."""
        return self.bandwidth_mhz * 1e6

    @property
    def beam_bandwidth_hz(self) -> float:
        """Bandwidth of one beam's sub-band, Hz."""
        return self.bandwidth_hz / self.reuse

    @property
    def beam_n_rb(self) -> int:
        """Resource blocks of one beam's sub-band."""
        return self.n_rb // self.reuse


@settings("satellite")
class SatellitePayload:
    """Satellite antenna and per-beam transmit / receive figures. Default: Starlink's
    direct-to-cell payload as far as it is public (NTN_REFERENCE §4a): a planar array of
    about 2.7 m x 2.3 m, uniform illumination (an assumption), 58 dBW peak EIRP per
    5 MHz beam (FCC SAT-MOD-20230207-00021). The circular antenna's figures default to
    TR 38.821 v16.1.0 Table 6.1.1.1-2 LEO-600 Set-2, S-band (``scenarios/tr38821_set2``)."""

    max_gain_dbi: float = Field(24.0, ge=0, le=70, description="Beam boresight gain of the "
                                                              "circular antenna, dBi (Set-2; "
                                                              "the rectangular array's follows "
                                                              "from its area and taper).")
    beamwidth_3db_deg: float | None = Field(
        None, gt=0, lt=90, description="Full 3 dB beamwidth of the circular antenna, degrees; "
                                       "the aperture follows from it (TR 38.811 §6.4.1). Give "
                                       "this or aperture_radius_m; neither: 8.832 (Set-2).")
    aperture_radius_m: float | None = Field(
        None, gt=0, description="Equivalent circular aperture radius, m (instead of the "
                                "beamwidth).")
    eirp_density_dbw_mhz: float | None = Field(
        None, description="EIRP density per beam, dBW/MHz; beam EIRP = density + 10 log10(B / "
                          "MHz). Give this or tx_power_dbw; neither: 51.0103, SpaceX's DTC filing "
                          "(SAT-MOD-20230207-00021: 58 dBW peak per 5 MHz beam; TR 38.821 "
                          "Set-2: 28).")
    tx_power_dbw: float | None = Field(None, description="Transmit power per beam, dBW; EIRP = "
                                                         "power + max gain.")
    gt_db_k: float = Field(-4.9, description="Receive G/T (uplink), dB/K.")
    scan_loss_exponent: float = Field(
        0.0, ge=0, description="Phased-array scan loss cos(scan)^n of a beam steered scan off "
                               "the array normal; 0: none.")
    antenna: Literal["circular", "rectangular"] = Field(
        "rectangular", description="Beam pattern: circular: TR 38.811 §6.4.1 aperture of the "
                                "beamwidth (or aperture_radius_m); rectangular: a planar array "
                                "array_x_m x array_y_m (satsim.link.aperture), its gain from its "
                                "area and taper.")
    array_x_m: float = Field(2.7, gt=0, description="Rectangular array side along-track, m "
                                                    "(Starlink DTC: about 2.7 x 2.3 m; which "
                                                    "side is along-track is an assumption).")
    array_y_m: float = Field(2.3, gt=0, description="Rectangular array side across-track, m.")
    taper: Literal["uniform", "cosine"] = Field(
        "uniform", description="Rectangular array illumination (cosine: lower sidelobes, wider "
                               "beam, 0.81 efficiency per side). Not public: uniform is an "
                               "assumption (the highest gain and sidelobes).")
    total_power_dbw: float | None = Field(
        None, description="Transmit power of the whole payload, shared equally by the beams "
                          "active at each step (a beam never exceeds its full EIRP); null: every "
                          "beam at full EIRP. No public figure: an assumption to sweep.")

    def __post_init__(self):
        for a, b in (("beamwidth_3db_deg", "aperture_radius_m"),
                     ("eirp_density_dbw_mhz", "tx_power_dbw")):
            if getattr(self, a) is not None and getattr(self, b) is not None:
                raise InputError(f"satellite: give one of {a} and {b}, not both (set the "
                                 "other to null)")
            if getattr(self, a) is None and getattr(self, b) is None:
                object.__setattr__(self, a, _PAYLOAD_FALLBACK[a])

    def eirp_dbw(self, bandwidth_hz: float) -> float:
        """Beam EIRP at boresight over ``bandwidth_hz``, dBW."""
        if self.eirp_density_dbw_mhz is not None:
            return self.eirp_density_dbw_mhz + 10.0 * math.log10(bandwidth_hz / 1e6)
        return self.tx_power_dbw + self.max_gain_dbi


#: TR 38.821 v16.1.0 Table 6.1.1.1-1, LEO-600 Set-1, S-band (the textbook case).
TR38821_SET1 = SatellitePayload(max_gain_dbi=30.0, beamwidth_3db_deg=4.4127,
                                eirp_density_dbw_mhz=34.0, gt_db_k=1.1, antenna="circular")

#: TR 38.821 v16.1.0 Table 6.1.1.1-2, LEO-600 Set-2, S-band (``scenarios/tr38821_set2.yaml``).
TR38821_SET2 = SatellitePayload(max_gain_dbi=24.0, beamwidth_3db_deg=8.832,
                                eirp_density_dbw_mhz=28.0, gt_db_k=-4.9, antenna="circular")


@settings("handsets.radio")
class HandsetRadio:
    """An ordinary phone's radio (TR 38.821 Table 6.1.1.1-3)."""

    tx_power_dbm: float = Field(23.0, le=40, description="Transmit power, dBm.")
    antenna_gain_dbi: float = Field(0.0, description="Antenna gain, dBi.")
    noise_figure_db: float = Field(7.0, ge=0, description="Receiver noise figure, dB.")
    antenna_temp_k: float = Field(290.0, gt=0, description="Antenna temperature, K.")

    @property
    def gt_db_k(self) -> float:
        """Receive G/T, dB/K: ``G - NF - 10 log10(T0 + (Ta - T0) 10^(-NF/10))``.

        The formula of the MathWorks NB-IoT NTN link-budget example, which
        gives TR 38.821's -31.6 dB/K for the defaults.
        """
        nf = self.noise_figure_db
        t_sys = T0_K + (self.antenna_temp_k - T0_K) * 10.0 ** (-nf / 10.0)
        return self.antenna_gain_dbi - nf - 10.0 * math.log10(t_sys)

    @property
    def eirp_dbw(self) -> float:
        """Uplink EIRP, dBW (transmit power + antenna gain)."""
        return self.tx_power_dbm - 30.0 + self.antenna_gain_dbi


#: A TR 38.811 term: true = the model, false = off, a number = a fixed loss in dB.
LossTerm = bool | Annotated[float, Field(ge=0)]


@settings("losses")
class Losses:
    """Propagation and handset loss terms (TR 38.811 v15.4.0 §6.6): true = model,
    false = off, a number = a fixed loss in dB. The handset terms apply to both
    directions. The surface weather and the terminal's antenna enter the models
    from 6 GHz only (gaseous absorption, ITU-R P.676-12; tropospheric
    scintillation, ITU-R P.618-13); the S-band shadow-fading and clutter tables
    (Tables 6.6.2-1/2/3) hold up to 6 GHz: above, set shadow_fading and
    clutter_loss to false or to a fixed loss in dB."""

    los_probability: bool = Field(True, description="Draw LOS / NLOS per link (Table "
                                                    "6.6.1-1); false: always LOS.")
    shadow_fading: LossTerm = Field(True, description="Shadow fading: model / off / dB.")
    clutter_loss: LossTerm = Field(True, description="Clutter loss of NLOS links: model / off "
                                                     "/ dB.")
    atmospheric: LossTerm = Field(
        True, description="Gaseous absorption: model / off / dB. Model: below 6 GHz 0.035 dB "
                          "at zenith / sin(elevation) (TR 38.811 §6.6.4); from 6 to 350 GHz "
                          "ITU-R P.676-12 Annex 2 with the surface weather below.")
    scintillation: LossTerm = Field(
        True, description="Scintillation: model / off / dB. Model: below 6 GHz ionospheric, "
                          "1.1 (f / 4 GHz)^-1.5 / sqrt 2 dB (TR 38.811 §6.6.6.1.4); from 6 to "
                          "55 GHz tropospheric, the fade depth of ITU-R P.618-13 §2.4.1 "
                          "(TR 38.811 §6.6.6.2), per link by elevation.")
    shadow_margin_db: float = Field(0.0, ge=0, description="Fixed shadowing margin, dB "
                                                           "(TR 38.821 uses 3).")
    additional_loss_db: float = Field(0.0, ge=0, description="Other fixed losses, dB.")
    body_loss_db: float = Field(0.0, ge=0, description="Handset body loss, dB.")
    polarization_loss_db: float = Field(0.0, ge=0, description="Handset polarization loss, dB.")
    indoor_loss_db: float = Field(0.0, ge=0, description="Building entry loss, dB (0: outdoor "
                                                         "handsets).")
    surface_pressure_hpa: float = Field(
        1013.25, gt=0, le=1100,
        description="Dry-air surface pressure at the handsets, hPa, for gaseous absorption from "
                    "6 GHz (ITU-R P.676-12 Annex 1 and 2). 1013.25: the mean annual global "
                    "reference atmosphere at sea level (ITU-R P.835-6 §1).")
    surface_temperature_k: float = Field(
        288.15, ge=180, le=340,
        description="Surface air temperature at the handsets, K (not Celsius), for gaseous "
                    "absorption and the wet refractivity of tropospheric scintillation from "
                    "6 GHz (ITU-R P.676-12, P.453-14 §1). 288.15: ITU-R P.835-6 §1 reference.")
    water_vapour_density_g_m3: float = Field(
        7.5, ge=0, le=50,
        description="Surface water-vapour density at the handsets, g/m^3, for gaseous "
                    "absorption and the wet refractivity N_wet of tropospheric scintillation "
                    "from 6 GHz (ITU-R P.676-12, P.453-14 §1; N_wet 47.5 at the defaults). "
                    "7.5: ITU-R P.835-6 §1 mean annual global reference.")
    scintillation_percent_time: float = Field(
        1.0, ge=0.001, le=50,
        description="Tropospheric scintillation from 6 GHz is the fade depth exceeded for "
                    "this percentage of an average year, % (ITU-R P.618-13 §2.4.1): a margin "
                    "that holds the rest of the time. 1: assumption.")
    terminal_antenna_diameter_m: float = Field(
        0.0, ge=0, le=50,
        description="Diameter of the terminal's antenna, m, whose aperture averages "
                    "tropospheric scintillation from 6 GHz (ITU-R P.618-13 §2.4.1); 0: a "
                    "handset, no averaging (e.g. 0.6 for a 60 cm VSAT dish).")
    terminal_antenna_efficiency: float = Field(
        0.5, gt=0, le=1,
        description="Aperture efficiency of that antenna (ITU-R P.618-13 §2.4.1 step 5: 0.5, "
                    "a conservative estimate when unknown).")

    @property
    def handset_loss_db(self) -> float:
        """Body, polarization and building-entry losses together, dB (both directions)."""
        return self.body_loss_db + self.polarization_loss_db + self.indoor_loss_db


@settings("propagation")
class Propagation(Losses):
    """The loss terms and the TR 38.811 environment whose tables they use."""

    environment: Environment = DEFAULT_ENVIRONMENT


@settings("beams")
class BeamSettings:
    """Beam layout of every satellite."""

    rings: Annotated[int, Field(ge=0)] | Literal["cover"] = Field(
        "cover", description='"cover": every lattice beam needed to cover the field of view '
                             "down to link.min_elevation_deg from the lowest satellite; or a "
                             "number of hexagonal rings around the nadir beam (1 + 3 r (r + 1) "
                             "beams).")
    spacing_deg: float | None = Field(
        None, gt=0, description="Angle between neighbouring beams, degrees (null: the 3 dB "
                                "beamwidth, so adjacent beams cross at -3 dB).")
    edge_db: float = Field(6.0, ge=0, description="A handset more than this below its best "
                                                 "beam's peak gain is outside every beam, dB "
                                                 "(moving beams).")
    mode: Literal["moving", "earth_fixed"] = Field(
        "earth_fixed", description="moving: beams fixed to the satellite body (a lattice in sine "
                              "space); earth_fixed: hexagonal cells fixed on the ground, each "
                              "served by one beam steered to its centre (SpaceX's DTC filing "
                              "SAT-MOD-20230207-00021: beam centres stationary on the ground).")
    cell_radius_km: float | None = Field(
        None, gt=0, description="Earth-fixed cell circumradius, km (null: half the beam's 3 dB "
                                "footprint at nadir from the lowest satellite; AST SpaceMobile's "
                                "Block 1 filing uses 24).")
    cell_fill_km: float | None = Field(
        106.0, gt=0, description="Light every cell within this distance of a handset, km: the "
                                 "handsets stand for users spread over the region, whose cells' "
                                 "beams interfere though no simulated phone is in them. 106: the "
                                 "default 150 km handset grid / sqrt 2, every cell of the region "
                                 "lit (assumption: subscribers everywhere, and an LTE cell "
                                 "broadcasts for idle phones to camp whether or not one does); "
                                 "null: only cells holding handsets.")
    max_beams_per_satellite: int | None = Field(
        None, ge=1, description="Most cells one satellite serves at once (earth_fixed; null: no "
                                "cap). No public figure: an assumption to sweep.")
    reassign_interval_s: float = Field(
        15.0, gt=0, description="Earth-fixed cells choose their satellite again this often, s "
                                "of simulated time whatever the step (a sample re-evaluates "
                                "when a multiple of it passed since the sample before; SpaceX "
                                "patent US 12,542,605 B1: cells remapped every 10-20 s).")
    reassign_hysteresis_deg: float = Field(
        5.0, ge=0, description="A cell leaves its satellite for one higher by more than this, "
                               "degrees (assumption).")
    activity: float = Field(
        0.1, ge=0, le=1,
        description="Fraction of an interfering beam's resource elements that carry energy "
                    "(earth_fixed). 0.1: an idle LTE cell's reference signals, 16 of 168 "
                    "resource elements per resource-block pair with 2 antenna ports (TS 36.211 "
                    "§6.10.1), as in a lightly loaded SMS network (measured RSRQ 3 dB better "
                    "than terrestrial, arXiv 2506.00283); 1: every beam fully loaded.")
    uplink_activity: float = Field(
        0.1, ge=0, le=1,
        description="Fraction of an interfering cell's uplink resources in use by its phones "
                    "(earth_fixed): the uplink SINR counts one phone at the centre of every "
                    "other co-channel cell whose beam interferes on the downlink, at the "
                    "handset's EIRP (a phone to a satellite is power-limited: full power), times "
                    "this. 0.1: assumption (no public figure; the downlink's lightly loaded "
                    "figure); 0: no uplink interference.")


@settings("link")
class LinkSettings:
    """Serving-beam selection, handover and the tolerances of an unmodified phone."""

    min_elevation_deg: float = Field(
        DEFAULT_MIN_ELEVATION_DEG, ge=0, lt=90,
        description="Elevation mask: satellites below it neither serve nor count as visible, "
                    "degrees.")
    interference_min_elevation_deg: float | None = Field(
        None, ge=0, lt=90, description="Satellites at or above this interfere (null: the "
                                       "serving mask); lower is more accurate and costs more "
                                       "links.")
    substep_s: float | None = Field(
        None, gt=0, description="Between samples (earth_fixed beams): the cells choose their "
                                "satellites on a grid this fine, s, and every phone served by "
                                "two different satellites at the ends of a step is evaluated "
                                "on it, so the dips around a change of satellite (which a 1 s "
                                "run sees and a 10 s run misses) are found and timed; must "
                                "divide step_s. Null: at the samples only "
                                "(satsim.link.substeps).")
    interference_precision: Literal["float64", "float32"] = Field(
        "float64", description="Arithmetic of the co-channel interference sums (earth_fixed "
                               "beams, rectangular array): float64, the reference; float32, "
                               "about twice as fast per term, for runs at scale, SINR within "
                               "0.02 dB of float64 (tests/test_single_precision.py).")
    serving_metric: Literal["sinr", "rsrp"] = Field("sinr", description="What the best beam "
                                                                        "maximises.")
    hysteresis_db: float = Field(2.0, ge=0, description="Handover hysteresis, dB: a better "
                                                        "beam must win by this.")
    time_to_trigger_s: float = Field(0.32, ge=0, description="Handover time to trigger, s "
                                                             "(rounded up to whole steps).")
    max_residual_doppler_hz: float = Field(
        PHONE_DL_DOPPLER_TOLERANCE_HZ, ge=0,
        description="Downlink Doppler left after the satellite's pre-compensation (for the "
                    "cell or beam centre) that a phone acquires and tracks, Hz. Assumption, "
                    "no 3GPP figure exists: a phone's cell search resolves its own oscillator's "
                    "error before lock (about ±2.5 ppm, 5 kHz at 2 GHz). TS 36.101 B.3's 750 "
                    "is a baseband test envelope (the TR 38.821 scenarios use it).")
    max_uplink_residual_doppler_hz: float = Field(
        SATELLITE_UL_DOPPLER_TOLERANCE_HZ, ge=0,
        description="Uplink Doppler left at the satellite's receiver after its compensation "
                    "for the cell or beam centre, Hz: twice the downlink residual scaled to "
                    "the uplink frequency (the phone locks to the downlink it receives). "
                    "Assumption: half the 15 kHz subcarrier spacing; terrestrial base stations "
                    "are tested to 1,340-1,944 Hz (TS 36.141 B.3).")
    max_doppler_rate_hz_s: float = Field(
        LTE_HST_MAX_DOPPLER_RATE_HZ_S, ge=0,
        description="Fastest change of the residual Doppler a phone follows, Hz/s (TS 36.101 "
                    "B.3 high-speed-train trajectory at its steepest, 750 Hz x 83.3 m/s / 2 m "
                    "= 31,250; checked on the serving link).")
    max_differential_delay_s: float = Field(
        LTE_MAX_DIFFERENTIAL_DELAY_S, ge=0,
        description="Largest one-way delay difference to the beam centre a phone absorbs, s "
                    "(the largest LTE timing advance, 1282 x 16 Ts / 2).")

    def __post_init__(self):
        imin = self.interference_min_elevation_deg
        if imin is not None and imin > self.min_elevation_deg:
            raise InputError(
                f"link.interference_min_elevation_deg ({imin}) must not exceed "
                f"min_elevation_deg ({self.min_elevation_deg}): every serving satellite also "
                "interferes")


@settings("link")
class LinkConfig(LinkSettings):
    """Everything the link layer needs beyond the geometry: the serving rules
    (:class:`LinkSettings`) and the radio, loss and beam settings."""

    carrier: Carrier = Field(default_factory=Carrier, description="Carriers and reuse.")
    payload: SatellitePayload = Field(default_factory=SatellitePayload,
                                      description="Satellite antenna and power.")
    handset: HandsetRadio = Field(default_factory=HandsetRadio, description="The phones' radio.")
    propagation: Propagation = Field(default_factory=Propagation, description="Loss terms.")
    beams: BeamSettings = Field(default_factory=BeamSettings, description="Beam layout.")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed of the channel's random draws (LOS "
                                                     "state, shadow fading).")

    def __post_init__(self):
        super().__post_init__()
        if self.substep_s is not None and self.beams.mode != "earth_fixed":
            raise InputError(
                "link.substep_s exists for earth_fixed beams (beams.mode: earth_fixed; this "
                f"run has {self.beams.mode!r}); set it to null")
        if self.interference_precision == "float32" and (
                self.beams.mode != "earth_fixed" or self.payload.antenna != "rectangular"):
            raise InputError(
                "link.interference_precision: float32 exists for the sums of earth_fixed beams "
                "of a rectangular array (beams.mode: earth_fixed, payload.antenna: "
                f"rectangular; this run has {self.beams.mode!r} and "
                f"{self.payload.antenna!r}); set it to float64")

    @property
    def interference_mask_deg(self) -> float:
        """Elevation above which satellites interfere, degrees."""
        imin = self.interference_min_elevation_deg
        return self.min_elevation_deg if imin is None else imin

    @property
    def beamwidth_rad(self) -> float:
        """3 dB beamwidth at the downlink frequency, radians (from the aperture)."""
        a = payload_aperture_radius_m(self.payload, self.carrier.dl_center_hz)
        k = wavenumber_rad_m(self.carrier.dl_center_hz)
        return 2.0 * math.asin(min(1.0, HALF_POWER_U / (k * a)))

    def beam_layout(self, altitude_km: float | None = None) -> BeamLayout:
        """The beam layout; ``altitude_km`` (lowest satellite) is needed for "cover"."""
        spacing = self.beams.spacing_deg
        if spacing is None:
            spacing = math.degrees(self.beamwidth_rad)
        if self.beams.rings == "cover":
            if altitude_km is None:
                raise InputError("beams.rings='cover' needs the constellation's altitude_km")
            return cone_beam_layout(off_nadir_angle_deg(self.min_elevation_deg, altitude_km),
                                    spacing)
        return hex_beam_layout(int(self.beams.rings), spacing)
