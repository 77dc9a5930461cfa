"""The course's nbgrader course directory and, around nbgrader, the grading command line.

``autograder/source/<notebook>/`` holds the instructor version of each notebook (solutions and
hidden tests); ``nbgrader_config.py`` makes this folder the nbgrader course root.
"""
