"""hw/pll.py divider searches against the settings IceStorm's icepll and Trellis' ecppll print, and hw/board.py's
UART divisor rule. The expected values were taken from yowasp-icepll / yowasp-ecppll runs (nextpnr 0.11 packages)."""

from fractions import Fraction

import pytest

from hedgegate.hw.board import BoardError, BoardTop, board, fastest_clock_mhz, uart_divisor
from hedgegate.hw.pll import PLLError, ecp5_pll_settings, ice40_pll_settings

MHZ = 1_000_000


@pytest.mark.parametrize("out_mhz, divr, divf, divq, achieved_mhz", [
    (30, 0, 79, 5, 30),             # icepll -i 12 -o 30
    (48, 0, 63, 4, 48),             # icepll -i 12 -o 48
    (25, 0, 66, 5, 25.125),         # icepll -i 12 -o 25: nearest
    (100, 0, 66, 3, 100.5),         # icepll -i 12 -o 100
])
def test_ice40_matches_icepll(out_mhz, divr, divf, divq, achieved_mhz):
    s = ice40_pll_settings(12 * MHZ, out_mhz * MHZ)
    assert (s.divr, s.divf, s.divq, s.filter_range) == (divr, divf, divq, 1)
    assert s.achieved_hz == Fraction(achieved_mhz) * MHZ
    assert s.achieved_hz == Fraction(12 * MHZ, s.divr + 1) * (s.divf + 1) / 2 ** s.divq
    assert 533 * MHZ <= s.vco_hz <= 1066 * MHZ


@pytest.mark.parametrize("out_mhz, clki, clkfb, clkop", [
    (125, 1, 5, 5),                 # ecppll -i 25 -o 125 (VCO 625)
    (150, 1, 6, 4),                 # ecppll -i 25 -o 150 (VCO 600)
    (100, 1, 4, 6),                 # ecppll -i 25 -o 100 (VCO 600)
    (62.5, 2, 5, 10),               # ecppll -i 25 -o 62.5
    (40, 5, 8, 15),                 # ecppll -i 25 -o 40
])
def test_ecp5_matches_ecppll(out_mhz, clki, clkfb, clkop):
    s = ecp5_pll_settings(25 * MHZ, Fraction(out_mhz) * MHZ)
    assert (s.clki_div, s.clkfb_div, s.clkop_div) == (clki, clkfb, clkop)
    assert s.achieved_hz == Fraction(out_mhz) * MHZ == Fraction(25 * MHZ, clki) * clkfb
    assert s.vco_hz == s.achieved_hz * clkop and 400 * MHZ <= s.vco_hz <= 800 * MHZ
    assert s.clkop_cphase == clkop // 2


def test_near_frequency_is_accepted_and_reported():
    # 131 MHz: 25 * 21 / 4 = 131.25 MHz is within 1 %; the design is then built for the achieved frequency.
    s = ecp5_pll_settings(25 * MHZ, 131 * MHZ)
    assert s.achieved_hz == Fraction(13125 * MHZ, 100)
    top = BoardTop("ulx3s-85f", clock_mhz=131)
    top._MustUse__silence = True                    # inspected, not elaborated
    assert top.clock_hz == s.achieved_hz
    # The serial side's clock is a second output of the same VCO, within 1 % of a whole number of cycles per bit.
    settings = top.pll_settings
    assert settings.achieved_hz == s.achieved_hz and top.serial_hz == settings.vco_hz / settings.clkos_div
    assert abs(top.serial_hz / top.divisor - 3_000_000) <= Fraction(1, 100) * 3_000_000
    # 133 MHz (133.33) used to be refused (no whole number of its cycles per bit is within 1 % of 3 Mbaud); with the
    # serial side on its own clock it is not tied to the baud rate.
    top = BoardTop("ulx3s-85f", clock_mhz=133)
    top._MustUse__silence = True
    assert top.clock_hz == Fraction(400 * MHZ, 3)


def test_ecp5_secondary_output_matches_ecppll():
    # ecppll -i 25 -o 125 --clkout1 48: VCO 625 MHz, CLKOS_DIV 13 (48.0769 MHz), CLKOS_CPHASE 2 (= CLKOP_CPHASE).
    s = ecp5_pll_settings(25 * MHZ, 125 * MHZ, 48 * MHZ)
    assert (s.clki_div, s.clkfb_div, s.clkop_div, s.clkos_div) == (1, 5, 5, 13)
    assert s.secondary_hz == Fraction(625 * MHZ, 13) and s.clkop_cphase == 2
    # No VCO that makes 100 MHz (400, 500, ..., 800 MHz) divides to within 1 % of 48 MHz (nearest: 50 MHz).
    with pytest.raises(PLLError, match="cannot make 48 MHz alongside 100.000 MHz") as info:
        ecp5_pll_settings(25 * MHZ, 100 * MHZ, 48 * MHZ)
    assert "\n" not in str(info.value)


def test_board_clocks():
    # ULX3S: the core at the target, the serial side at 48.08 MHz (16 cycles per bit: 3.005 Mbaud, 0.16 % fast).
    top = BoardTop("ulx3s-85f")
    top._MustUse__silence = True
    assert top.clock_hz == 125 * MHZ and top.serial_hz == Fraction(625 * MHZ, 13) and top.divisor == 16
    # 100 MHz: 48 MHz (16 cycles) cannot be made beside it (above); the next nearest that can is 14 cycles per bit,
    # 500 MHz / 12 = 41.67 MHz (2.976 Mbaud, 0.8 % slow).
    top = BoardTop("ulx3s-85f", clock_mhz=100)
    top._MustUse__silence = True
    assert top.serial_hz == Fraction(500 * MHZ, 12) and top.divisor == 14
    # iCEBreaker: one PLL output, both domains on it.
    top = BoardTop("icebreaker")
    top._MustUse__silence = True
    assert top.serial_hz == top.clock_hz == 30 * MHZ and top.divisor == 10
    with pytest.raises(BoardError, match="from a 39.75 MHz clock to within 1%"):       # the PLL: 39.75 MHz
        BoardTop("icebreaker", clock_mhz=40)


@pytest.mark.parametrize("make, in_mhz, out_mhz, words", [
    (ice40_pll_settings, 12, 5, "output range is 16 MHz to 275 MHz"),
    (ice40_pll_settings, 12, 300, "output range"),
    (ice40_pll_settings, 5, 30, "input 5 MHz is outside"),
    (ecp5_pll_settings, 25, 500, "output range is 10 MHz to 400 MHz"),
    (ecp5_pll_settings, 25, 13, "nearest it can make is 12.500 MHz"),
])
def test_impossible_frequencies(make, in_mhz, out_mhz, words):
    with pytest.raises(PLLError, match=words) as info:
        make(in_mhz * MHZ, out_mhz * MHZ)
    assert "\n" not in str(info.value)


def test_uart_divisor():
    assert uart_divisor(150 * MHZ, 3_000_000) == 50
    assert uart_divisor(125 * MHZ, 3_000_000) == 42          # 2.976 Mbaud, 0.8 % off: accepted
    assert uart_divisor(12 * MHZ, 3_000_000) == 4            # the smallest divisor the UART supports
    with pytest.raises(BoardError, match=r"nearest divisor, 13, gives 3076923 baud \(2.6% off\)"):
        uart_divisor(40 * MHZ, 3_000_000)
    with pytest.raises(BoardError, match="at least 4 clock cycles per bit"):
        uart_divisor(10 * MHZ, 3_000_000)


def test_board_registry_reads_constraints():
    ice, ecp = board("icebreaker"), board("ulx3s-85f")
    assert (ice.family, ice.device, ice.input_hz) == ("ice40", "iCE40UP5K", 12e6)
    assert (ecp.family, ecp.device, ecp.input_hz) == ("ecp5", "LFE5U-85F", 25e6)
    assert board("ulx3s-25f").device == "LFE5U-25F"
    assert ecp.core.levels == 10 and ecp.clock_mhz >= 125
    top = BoardTop("icebreaker")
    top._MustUse__silence = True                    # inspected, not elaborated
    assert top.params == ice.core and top.clock_hz == Fraction(ice.clock_mhz) * MHZ
    assert top.divisor == round(top.clock_hz / 3_000_000)
    with pytest.raises(BoardError, match="unknown board 'de0' .known: icebreaker, ulx3s-25f, ulx3s-85f."):
        board("de0")


def test_fastest_clock_below_fmax():
    # ULX3S: 59.9 MHz of fmax -> 59.375 MHz (25 MHz / 8 x 19), the fastest the PLL makes below it (the serial side
    # has its own clock, so the core's need not be a multiple of the baud rate).
    assert fastest_clock_mhz("ulx3s-85f", 59.9) == 59.375
    # 108.09 MHz -> 107.14 MHz (25 MHz / 7 x 30; 108.33 = 25 / 3 x 13 is above it, 108 itself needs CLKI_DIV 25,
    # a 1 MHz phase detector, below the ECP5's 3.125 MHz).
    assert fastest_clock_mhz("ulx3s-85f", 108.09) == pytest.approx(750 / 7)
    # iCEBreaker: 23.9 MHz -> 21 MHz (7 cycles per bit); 24 MHz would be above the fmax.
    assert fastest_clock_mhz("icebreaker", 23.9) == 21.0
    assert fastest_clock_mhz("icebreaker", 24.0) == 24.0
    assert fastest_clock_mhz("icebreaker", 15.0) is None       # below the iCE40 PLL's 16 MHz
