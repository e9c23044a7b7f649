import { defineDifferentialSuite } from './suite.js';

defineDifferentialSuite('moe');
