"""Scripts that measure the tutorial: speed, the seed-style setup against the default, the classroom profile.

Run each as a module from the repository root, e.g. ``python -m benchmarks.benchmark --tiny``; see
benchmarks/README.md. ``defaults`` reads the notebooks' default parameters, ``common`` holds what the
scripts share (the machine's description, image folders, notebook 02's model).
"""
