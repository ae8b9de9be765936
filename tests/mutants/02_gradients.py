"""Known-wrong answers for source/02_gradients/02_gradients.ipynb, one per graded code cell.

``MUTANTS`` maps an answer cell's grade_id to the complete source a student might have put in
that cell: it defines the same public names as the model answer but carries one plausible bug.
Graded through nbgrader, each mutant must lose the points of its own test cells and no others:

- ``symbolic-derivative``: the chain rule is forgotten (phi'(u) without the factor u').
- ``forward-difference``: a backward difference (f(t) - f(t - h)) / h.
- ``central-difference``: divides by h instead of 2h.
- ``fd-gradient``: recomputes f(x) for every coordinate (2n evaluations instead of n + 1).
- ``dual``: the product rule multiplies the two derivative parts (a' b' instead of a' b + a b').
- ``value``: ``_backward`` overwrites gradients (``=``) instead of accumulating them (``+=``).

The manually graded markdown answer ``fd-error-shape`` has no mutant: nbgrader does not score
it automatically.
"""

MUTANTS: dict[str, str] = {}

MUTANTS["symbolic-derivative"] = '''
def symbolic_derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """Differentiate expr with respect to var (bug: no chain-rule factor u')."""
    if expr == var:
        return sympy.Integer(1)
    if not expr.has(var):
        return sympy.Integer(0)
    args = expr.args
    if expr.is_Add:
        return sympy.Add(*(symbolic_derivative(u, var) for u in args))
    if expr.is_Mul:
        u, rest = args[0], sympy.Mul(*args[1:])
        return symbolic_derivative(u, var) * rest + u * symbolic_derivative(rest, var)
    if expr.is_Pow:
        u, c = args
        if not c.has(var):
            return c * u ** (c - 1)
        return expr * (symbolic_derivative(c, var) * sympy.log(u) + c / u)
    if expr.func is sympy.exp:
        return sympy.exp(args[0])
    if expr.func is sympy.log:
        return 1 / args[0]
    if expr.func is sympy.sin:
        return sympy.cos(args[0])
    if expr.func is sympy.cos:
        return -sympy.sin(args[0])
    raise ValueError(f"no rule for {expr.func.__name__}")
'''

MUTANTS["forward-difference"] = '''
def forward_difference(f: Callable[[float], float], t: float, h: float = 1e-8) -> float:
    """Forward-difference estimate of f'(t) (bug: steps backwards, to t - h)."""
    return (f(t) - f(t - h)) / h
'''

MUTANTS["central-difference"] = '''
def central_difference(f: Callable[[float], float], t: float, h: float = 1e-5) -> float:
    """Central-difference estimate of f'(t) (bug: divides by h, not 2h)."""
    return (f(t + h) - f(t - h)) / h
'''

MUTANTS["fd-gradient"] = '''
def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-7) -> np.ndarray:
    """Forward-difference gradient (bug: evaluates f(x) again for every coordinate)."""
    point = np.array(x, dtype=np.float64)
    grad = np.zeros_like(point)
    flat, grad_flat = point.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        f_x = f(point.copy())
        old = flat[i]
        flat[i] = old + h
        grad_flat[i] = (f(point.copy()) - f_x) / h
        flat[i] = old
    return grad
'''

MUTANTS["dual"] = '''
class Dual:
    """Forward-mode dual number (bug: the product rule multiplies the derivative parts)."""

    def __init__(self, value: float, deriv: float = 0.0) -> None:
        self.value = float(value)
        self.deriv = float(deriv)

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Dual) else Dual(other, 0.0)

    def __add__(self, other):
        other = Dual._lift(other)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __mul__(self, other):
        other = Dual._lift(other)
        return Dual(self.value * other.value, self.deriv * other.deriv)

    def __truediv__(self, other):
        other = Dual._lift(other)
        return Dual(self.value / other.value,
                    (self.deriv * other.value - self.value * other.deriv) / other.value**2)

    def __pow__(self, exponent):
        return Dual(self.value**exponent, exponent * self.value ** (exponent - 1) * self.deriv)

    def exp(self):
        return Dual(math.exp(self.value), math.exp(self.value) * self.deriv)

    def sin(self):
        return Dual(math.sin(self.value), math.cos(self.value) * self.deriv)

    def cos(self):
        return Dual(math.cos(self.value), -math.sin(self.value) * self.deriv)

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __sub__(self, other):
        return self + (-Dual._lift(other))

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Dual._lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Dual._lift(other) / self
'''

MUTANTS["value"] = '''
class Value:
    """Reverse-mode scalar autodiff (bug: _backward overwrites grads instead of adding)."""

    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._backward = lambda: None
        self._op = _op

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(other)

    def _unary(self, data, local, op):
        out = Value(data, (self,), op)

        def _backward():
            self.grad = local * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = Value._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        return self._unary(self.data**exponent, exponent * self.data ** (exponent - 1), "**")

    def exp(self):
        return self._unary(math.exp(self.data), math.exp(self.data), "exp")

    def sin(self):
        return self._unary(math.sin(self.data), math.cos(self.data), "sin")

    def cos(self):
        return self._unary(math.cos(self.data), -math.sin(self.data), "cos")

    def tanh(self):
        return self._unary(math.tanh(self.data), 1 - math.tanh(self.data) ** 2, "tanh")

    def relu(self):
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def backward(self):
        order, visited = [], set()

        def build(node):
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    build(child)
                order.append(node)

        build(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value._lift(other))

    def __truediv__(self, other):
        return self * Value._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value._lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value._lift(other) / self
'''
