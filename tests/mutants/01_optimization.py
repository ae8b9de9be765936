"""Known-wrong answers for source/01_optimization/01_optimization.ipynb.

``MUTANTS`` maps the grade_id of each answer cell to a complete replacement source for that
cell. Each replacement defines the same public name with one plausible student bug; graded
through nbgrader, it must lose the points of its own test cells and no others:

- random-search: samples around the start x0 instead of around the best point so far.
- compass-search: never halves its step, so it cannot get closer than the initial grid.
- gradient-descent: steps along +grad (gradient ascent, the sign error).
- newton: multiplies the gradient by the Hessian instead of solving with it.
- bfgs: the BFGS update with s and y swapped (the direct-Hessian formula used as the inverse).
- lagrange-stationary-points: forgets the constraint equation dL/dlambda = h(w) = 0.
- projected-gradient-descent: projects onto A w = 0, ignoring b.
"""

MUTANTS: dict[str, str] = {
    "random-search": '''
def random_search(f, x0, radius=0.5, num_samples=1000, seed=0):
    """Bug: every candidate is drawn around x0, not around the best point so far."""
    rng = np.random.default_rng(seed)
    start = np.array(x0, dtype=np.float64)
    best, f_best = start.copy(), f(start)
    history = [best.copy()]
    for _ in range(num_samples):
        candidate = start + rng.uniform(-radius, radius, size=start.shape)
        f_candidate = f(candidate)
        if f_candidate < f_best:
            best, f_best = candidate, f_candidate
        history.append(best.copy())
    return np.array(history)
''',
    "compass-search": '''
def compass_search(f, x0, step, tol=1e-8, max_evals=10_000):
    """Bug: the step is never halved; the search only stops when the budget is spent."""
    x = np.array(x0, dtype=np.float64)
    n = x.size
    directions = np.concatenate([np.eye(n), -np.eye(n)])
    f_x = f(x)
    num_evals = 1
    path = [x.copy()]
    while step >= tol and num_evals < max_evals:
        for d in directions:
            if num_evals >= max_evals:
                break
            candidate = x + step * d
            f_candidate = f(candidate)
            num_evals += 1
            if f_candidate < f_x:
                x, f_x = candidate, f_candidate
                path.append(x.copy())
                break
    return np.array(path)
''',
    "gradient-descent": '''
def gradient_descent(grad, w0, lr, num_steps):
    """Bug: w <- w + lr * grad(w) climbs instead of descending."""
    w = np.array(w0, dtype=np.float64)
    trajectory = [w.copy()]
    for _ in range(num_steps):
        w = w + lr * grad(w)
        trajectory.append(w.copy())
    return np.array(trajectory)
''',
    "newton": '''
def newton(grad, hess, w0, num_steps):
    """Bug: w <- w - H g multiplies by the Hessian instead of solving H d = g."""
    w = np.array(w0, dtype=np.float64)
    trajectory = [w.copy()]
    for _ in range(num_steps):
        w = w - hess(w) @ grad(w)
        trajectory.append(w.copy())
    return np.array(trajectory)
''',
    "bfgs": '''
def bfgs(f, grad, w0, tol=1e-8, max_iter=500, c1=1e-4):
    """Bug: the inverse-Hessian update with s and y swapped (it now approximates the Hessian)."""
    w = np.array(w0, dtype=np.float64)
    n = w.size
    identity = np.eye(n)
    H = identity.copy()
    f_w, g = f(w), grad(w)
    trajectory = [w.copy()]
    for _ in range(max_iter):
        if np.linalg.norm(g) <= tol:
            break
        p = -H @ g
        if g @ p >= 0:
            H, p = identity.copy(), -g
        t = 1.0
        while f(w + t * p) > f_w + c1 * t * (g @ p) and t > 1e-16:
            t = t / 2
        w_new = w + t * p
        g_new = grad(w_new)
        s, y = w_new - w, g_new - g
        if y @ s > 0:
            rho = 1.0 / (y @ s)
            H = (identity - rho * np.outer(y, s)) @ H @ (identity - rho * np.outer(s, y))
            H = H + rho * np.outer(y, y)
        w, g, f_w = w_new, g_new, f(w_new)
        trajectory.append(w.copy())
    return np.array(trajectory)
''',
    "lagrange-stationary-points": '''
def lagrange_stationary_points(f, constraint, variables):
    """Bug: solves grad_w L = 0 only and forgets dL/dlambda = h(w) = 0."""
    multiplier = sympy.Symbol("lambda")
    if isinstance(constraint, sympy.Equality):
        constraint = constraint.lhs - constraint.rhs
    lagrangian = f + multiplier * constraint
    equations = [sympy.diff(lagrangian, v) for v in variables]
    return sympy.solve(equations, [*variables, multiplier], dict=True)
''',
    "projected-gradient-descent": '''
def projected_gradient_descent(grad, w0, A, b, lr, num_steps):
    """Bug: the projection drops b, so it projects onto A w = 0 instead of A w = b."""
    A = np.asarray(A, dtype=np.float64)

    def project(z):
        return z - A.T @ np.linalg.solve(A @ A.T, A @ z)

    w = np.array(w0, dtype=np.float64)
    trajectory = [w.copy()]
    for _ in range(num_steps):
        w = project(w - lr * grad(w))
        trajectory.append(w.copy())
    return np.array(trajectory)
''',
}
