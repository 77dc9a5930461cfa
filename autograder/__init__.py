"""Around nbgrader, the grading command line of the course, and the build of its notebooks.

``autograder/course/`` is the nbgrader course: its configuration, the notebook sources, the
instructor version of each notebook (solutions and hidden tests) and, when an instructor runs
nbgrader there, its gradebook and folders (see ``autograder/course/README.md``).
"""
