"""Reports: hourly rollups kept as data arrives, and the energy, session, utilisation,
reliability and peak power reports read from them."""
