"""Unit conversions written by the team: plain arithmetic, not standard-library wrappers.

They sit beside the stdlib tools (names ``units.*``) because questions about distances and
temperatures need them, but they are counted apart: the 200+ stdlib tools do not include them.
"""

from __future__ import annotations

from papercraft.tools.stdlib.catalog import Catalog, numbers

catalog = Catalog()

_AMOUNT = numbers(-1e200, 1e200)
_KM_PER_MILE = 1.609344
_KG_PER_POUND = 0.45359237
_CM_PER_INCH = 2.54
_LITRES_PER_US_GALLON = 3.785411784


@catalog.tool("units.km_to_miles", {"km": 42.195}, km=_AMOUNT)
def km_to_miles(km: float) -> float:
    """Convert kilometres to international miles (team-written, not stdlib)."""
    return km / _KM_PER_MILE


@catalog.tool("units.miles_to_km", {"miles": 26.2}, miles=_AMOUNT)
def miles_to_km(miles: float) -> float:
    """Convert international miles to kilometres (team-written, not stdlib)."""
    return miles * _KM_PER_MILE


@catalog.tool("units.celsius_to_fahrenheit", {"celsius": 37.0}, celsius=numbers(-273.15, 1e12))
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert degrees Celsius to degrees Fahrenheit (team-written, not stdlib)."""
    return celsius * 9 / 5 + 32


@catalog.tool("units.fahrenheit_to_celsius", {"fahrenheit": 98.6},
              fahrenheit=numbers(-459.67, 1e12))
def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """Convert degrees Fahrenheit to degrees Celsius (team-written, not stdlib)."""
    return (fahrenheit - 32) * 5 / 9


@catalog.tool("units.kg_to_pounds", {"kg": 70.0}, kg=_AMOUNT)
def kg_to_pounds(kg: float) -> float:
    """Convert kilograms to avoirdupois pounds (team-written, not stdlib)."""
    return kg / _KG_PER_POUND


@catalog.tool("units.pounds_to_kg", {"pounds": 154.0}, pounds=_AMOUNT)
def pounds_to_kg(pounds: float) -> float:
    """Convert avoirdupois pounds to kilograms (team-written, not stdlib)."""
    return pounds * _KG_PER_POUND


@catalog.tool("units.inches_to_cm", {"inches": 12.0}, inches=_AMOUNT)
def inches_to_cm(inches: float) -> float:
    """Convert inches to centimetres (team-written, not stdlib)."""
    return inches * _CM_PER_INCH


@catalog.tool("units.cm_to_inches", {"cm": 30.48}, cm=_AMOUNT)
def cm_to_inches(cm: float) -> float:
    """Convert centimetres to inches (team-written, not stdlib)."""
    return cm / _CM_PER_INCH


@catalog.tool("units.gallons_to_litres", {"gallons": 5.0}, gallons=_AMOUNT)
def gallons_to_litres(gallons: float) -> float:
    """Convert US liquid gallons to litres (team-written, not stdlib)."""
    return gallons * _LITRES_PER_US_GALLON


@catalog.tool("units.litres_to_gallons", {"litres": 10.0}, litres=_AMOUNT)
def litres_to_gallons(litres: float) -> float:
    """Convert litres to US liquid gallons (team-written, not stdlib)."""
    return litres / _LITRES_PER_US_GALLON
