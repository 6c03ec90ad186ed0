"""Hyperparameter search on KerasTuner for the zoo's models (`kerazoo tune`, `tune(...)`)."""
