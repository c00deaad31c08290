"""Spiking feedback estimators: SAL, RDD and STDWI."""
