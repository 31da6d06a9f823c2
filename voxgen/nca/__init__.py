"""The 3D neural cellular automaton (layer L2): config, spec files, the model,
target encoding and the active-region stepper. Imports torch; the CLI imports
this package lazily."""
