"""The device model of 2.0.1 charge points: components, variables and their attributes, and the reports that fill it."""
