"""The views world: reports -> rich tables for people, JSON for machines, JUnit for
CI, progress bars and plots. Views format; they compute nothing. rich is imported
here and in the cli world only (a test pins it).
"""
