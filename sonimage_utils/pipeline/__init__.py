"""L6, the pipeline: parameters, notebook execution, the results registry, the book.
"""
