"""Compiled core of `forecast`: numba code only.

No I/O, no validation, no polars. Everything here takes flat numeric arrays produced by
`forecast.engine.compile` and assumes they are valid. Import is lazy from the API so that
`import forecast` never triggers compilation.
"""
